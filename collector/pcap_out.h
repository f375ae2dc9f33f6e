/* Flows as synthetic TCP connections in pcapng files (-w), with rotation (-C, -G, -W). */
#ifndef TLSTAP_PCAP_OUT_H
#define TLSTAP_PCAP_OUT_H

#include <stdbool.h>
#include <stdint.h>
#include "flows.h"

struct pcap_out_opts {
	const char *path;	/* "-" = stdout; strftime patterns with -G */
	uint64_t rotate_bytes;	/* -C: start a new file past this size, 0 = never */
	uint64_t rotate_secs;	/* -G: start a new file this often, 0 = never */
	unsigned int max_files;	/* -W: with -C, reuse names in a ring of this many; with -G, stop after */
	__s64 mono_to_real_ns;	/* the live printer's clock offset: both show the same times */
};

struct pcap_out;

int pcap_out_open(struct pcap_out **po, const struct pcap_out_opts *o);
/* Finishes the file: statistics blocks, flush, close. Returns the first error. */
int pcap_out_close(struct pcap_out *po);
/* Periodic work: -G rotation, flushing what is buffered (live readers). */
int pcap_out_tick(struct pcap_out *po);
/* The first write error, 0 if none; -ECANCELED once -G with -W is done. */
int pcap_out_error(const struct pcap_out *po);

/* The callbacks to give the flow table, with the struct pcap_out as ctx. */
extern const struct flow_callbacks pcap_out_callbacks;

/*
 * The metadata of a data packet's comment, which -r reads back: key=value
 * pairs, values percent-encoded. Writes at most len bytes, NUL included.
 */
int pcap_out_comment(char *buf, size_t len, const struct tlstap_data_event *ev);
/* Parses such a comment into ev's header fields; 0 or -EINVAL. */
int pcap_out_parse_comment(const char *comment, struct tlstap_data_event *ev);
/* Parses the comment of a connection's FIN into a close or exit event. */
int pcap_out_parse_close(const char *comment, struct tlstap_ctrl_event *ev);

#endif
