/* Flows as synthetic TCP connections in pcapng files (-w), with rotation (-C, -G, -W). */
#ifndef TLSTAP_PCAP_OUT_H
#define TLSTAP_PCAP_OUT_H

#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include "flows.h"

struct pcap_out_opts {
	const char *path;	/* "-" = stdout; strftime patterns with -G (repeated names numbered) */
	uint64_t rotate_bytes;	/* -C: start a new file past this size, 0 = never */
	uint64_t rotate_secs;	/* -G: start a new file this often, 0 = never */
	unsigned int max_files;	/* -W: with -C, reuse names in a ring of this many; with -G, stop after */
	__s64 mono_to_real_ns;	/* the live printer's clock offset: both show the same times */
	/* Set on a stop request: "-" with a reader that does not read is given
	 * up on after a grace period (NULL: waited for). */
	const volatile sig_atomic_t *stop;
	/* --host, --run-id: "host=NAME", "run_id=ID" comments on every file's section (NULL: none). */
	const char *host, *run_id;
};

struct pcap_out;

/* Opens the first file; its errors are pcapng_open's (see pcapng_open_strerror). */
int pcap_out_open(struct pcap_out **po, const struct pcap_out_opts *o);
/*
 * Finishes the file: statistics blocks, flush, close; po stays for
 * pcap_out_status. Returns the first error (0 once -G -W is done).
 */
int pcap_out_finish(struct pcap_out *po);
/* pcap_out_finish, then frees po (NULL is a no-op). */
int pcap_out_close(struct pcap_out *po);
/*
 * Periodic work: -G rotation, flushing what is buffered (live readers).
 * Nonzero means stop: the first error, or -ECANCELED once -G -W is done.
 */
int pcap_out_tick(struct pcap_out *po);

/*
 * After the first error (a write that failed, or a rotated file that could
 * not be opened) nothing more is written; packets that would have been are
 * counted, with those the writer lost from its buffer, and the file is left
 * ending with its last complete block.
 */
struct pcap_out_status {
	int err;			/* first error, 0 if none (or -G -W done) */
	bool at_open;			/* err is pcapng_open's, for file */
	const char *file;		/* the file concerned; valid while po lives */
	__u64 unwritten_packets;	/* packets not in any file since err */
	__u64 unwritten_bytes;		/* their bytes */
	/* Of those, left out while the disk (or a pipe's reader) was behind
	 * with 32 MiB waiting: the capture went on, the file has holes. */
	__u64 slow_packets, slow_bytes;
	bool torn;			/* the file could not be cut back to a whole block */
};

void pcap_out_status(const struct pcap_out *po, struct pcap_out_status *st);

/* The callbacks to give the flow table, with the struct pcap_out as ctx (state in slot 0). */
extern const struct flow_callbacks pcap_out_callbacks;
struct sinks;
/* Adds po to s, its state in the slot s gives it. */
int pcap_out_attach(struct pcap_out *po, struct sinks *s);

#endif
