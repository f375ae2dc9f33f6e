/* pcapng writer: one file, written sequentially through a userspace buffer. */
#ifndef TLSTAP_PCAPNG_H
#define TLSTAP_PCAPNG_H

#include <stdbool.h>
#include <signal.h>
#include <stdint.h>

/*
 * Link types as written in files (LINKTYPE_*). Not pcap's DLT_* values:
 * DLT_RAW is 12 or 14 depending on the platform, LINKTYPE_RAW is always 101.
 */
#define PCAPNG_LINKTYPE_ETHERNET	1
#define PCAPNG_LINKTYPE_RAW		101	/* raw IPv4 or IPv6, told by the version nibble */

/* epb_flags direction values (bits 0-1). */
#define PCAPNG_DIR_UNKNOWN	0
#define PCAPNG_DIR_INBOUND	1
#define PCAPNG_DIR_OUTBOUND	2

/*
 * Every function returns 0 or a negative errno. -EINVAL means bad arguments
 * and leaves the file untouched; an I/O error (-ENOSPC, -EDQUOT, -EIO, -EPIPE,
 * ...) is remembered: the file is incomplete, so every later call returns it
 * again. After such an error a regular file is cut back to the end of its
 * last complete block, so readers see a shorter capture, never a torn block;
 * pcapng_unwritten says what did not make it.
 * Not thread-safe: one writer belongs to one thread at a time.
 */
struct pcapng_writer;

/*
 * Opens path ("-" = standard output, fd 1) and writes the Section Header
 * Block, with app_name as shb_userappl when not NULL. Captures hold other
 * people's plaintext and tlstap runs as root, often in directories others
 * can write (/tmp), so path is never followed if it is a symbolic link and
 * never truncated unless it is the caller's own file:
 * - a new name is created exclusively with mode 0600;
 * - an existing name is reused (truncated) only if it is a regular file
 *   owned by the effective uid with one link, as checked on the opened
 *   descriptor; a mode wider than 0600 is narrowed first.
 * Refusals: -ELOOP a symbolic link, -ENXIO not a regular file (FIFO, socket,
 * device), -EPERM owned by another user, -EMLINK more than one link; open(2)'s
 * own errors otherwise (-ENOENT: missing directory; its -EPERM is returned as
 * -EACCES so that -EPERM always means the owner). pcapng_open_strerror words
 * them.
 */
int pcapng_open(struct pcapng_writer **w, const char *path, const char *app_name);

/*
 * pcapng_open with opt_comment options in the Section Header Block too:
 * comments is NULL or a NULL-terminated list of at most 4 UTF-8 strings,
 * each one comment (Wireshark: Statistics > Capture File Properties; capinfos:
 * "Capture comment").
 */
int pcapng_open_section(struct pcapng_writer **w, const char *path, const char *app_name,
			const char *const *comments);

/* What an error of pcapng_open means, for a message after the file name. */
const char *pcapng_open_strerror(int err);

/*
 * Once *stop is set, a reader of "-" that takes nothing for NBFD_STOP_GRACE_MS
 * makes writes fail with -ETIMEDOUT (counted like any write error) instead
 * of waiting for it for good. Files are never waited for.
 */
void pcapng_set_stop(struct pcapng_writer *w, const volatile sig_atomic_t *stop);

/*
 * Writes an Interface Description Block with if_tsresol 9 (timestamps in
 * nanoseconds); name and description are optional (NULL). snaplen 0 means
 * no limit; otherwise packets longer than snaplen are refused. Sets *if_id
 * to 0, 1, 2... in the order of addition.
 *
 * libpcap (1.10, so tcpdump) refuses a section whose interfaces differ in
 * link type or snaplen: give all interfaces the same ones if files must open
 * there too. Wireshark and tshark have no such limit.
 */
int pcapng_add_interface(struct pcapng_writer *w, uint16_t linktype, uint32_t snaplen,
			 const char *name, const char *description, uint32_t *if_id);

/*
 * Writes an Enhanced Packet Block: ts_ns in nanoseconds since the epoch,
 * caplen bytes of data out of origlen (caplen <= origlen), direction one of
 * PCAPNG_DIR_* (written as epb_flags unless unknown), comment an optional
 * UTF-8 string (opt_comment; NULL or "" writes none). The bytes of the
 * comment are written as given: the caller makes them valid UTF-8.
 */
int pcapng_write_packet(struct pcapng_writer *w, uint32_t if_id, uint64_t ts_ns,
			const void *data, uint32_t caplen, uint32_t origlen,
			int direction, const char *comment);
/* The same, whole (caplen = origlen), from two pieces: hlen bytes of head,
 * then dlen of data (headers built apart from a payload not copied). */
int pcapng_write_packet2(struct pcapng_writer *w, uint32_t if_id, uint64_t ts_ns,
			 const void *head, uint32_t hlen, const void *data, uint32_t dlen,
			 int direction, const char *comment);

/*
 * Writes an Interface Statistics Block for if_id, stamped end_ns, with
 * isb_starttime = start_ns, isb_endtime = end_ns, isb_ifrecv = the packets
 * written on that interface since pcapng_open, isb_ifdrop = ifdrop and an
 * optional comment.
 */
int pcapng_write_stats(struct pcapng_writer *w, uint32_t if_id, uint64_t start_ns,
		       uint64_t end_ns, uint64_t ifdrop, const char *comment);

/* Hands every buffered block on (no fsync): to the writing thread if there is one. */
int pcapng_flush(struct pcapng_writer *w);
/*
 * pcapng_flush, unless the writing thread has blocks waiting still: those
 * buffered then go with a later call (call it again until it hands them on).
 */
int pcapng_offer(struct pcapng_writer *w);
/* Like pcapng_flush, then waits until every block is written (or failed). */
int pcapng_drain(struct pcapng_writer *w);
/*
 * From now on, blocks are written by a thread of their own, so that a write
 * that stalls (writeback, a slow reader of a pipe) never holds up the
 * caller; while 32 MiB wait, packets are left out and counted
 * (pcapng_unwritten's slow_packets). Errors then show a little later, so
 * a packet refused for one is counted by pcapng_unwritten too.
 */
void pcapng_write_behind(struct pcapng_writer *w);

/* Size of the file so far, buffered bytes included: what -C compares. */
uint64_t pcapng_bytes_written(const struct pcapng_writer *w);

/* What an I/O error kept out of the file. */
struct pcapng_unwritten {
	uint64_t packets;	/* Enhanced Packet Blocks accepted but not in the file */
	uint64_t bytes;		/* their captured bytes (caplen) */
	/* Of those, left out while every buffer waited for the disk (or the
	 * reader of a pipe): the file goes on after them. */
	uint64_t slow_packets, slow_bytes;
	uint64_t file_bytes;	/* the file's length: complete blocks only */
	uint64_t direct_bytes;	/* of those, written with O_DIRECT (no page cache copy) */
	bool torn;		/* it could not be cut back (a pipe, or ftruncate failed) */
};

/* All zero while nothing was left out (file_bytes: what was written so far). */
void pcapng_unwritten(struct pcapng_writer *w, struct pcapng_unwritten *u);

/*
 * Flushes, closes the file and frees w (NULL is a no-op). Standard output is
 * flushed but fd 1 is left open: the process may still need it, and it is
 * closed at exit anyway. Returns the first I/O error met during the
 * writer's life, else the flush's or the close's (0 when the file is whole).
 */
int pcapng_close(struct pcapng_writer *w);

#endif /* TLSTAP_PCAPNG_H */
