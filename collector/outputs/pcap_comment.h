/* The tlstap comment of a pcapng packet: the event's header, written by -w and read back by -r. */
#ifndef TLSTAP_PCAP_COMMENT_H
#define TLSTAP_PCAP_COMMENT_H

#include <stddef.h>
#include <linux/types.h>
#include "tlstap.h"

/*
 * The metadata of a data packet's comment, which -r reads back: key=value
 * pairs, values percent-encoded. Writes at most len bytes, NUL included;
 * 0, or -ENOSPC when it had to cut.
 */
int pcap_out_comment(char *buf, size_t len, const struct tlstap_data_event *ev);
/* The comment of a connection's FIN: a close (or, type EXIT, exit) event. */
int pcap_out_close_comment(char *buf, size_t len, const struct tlstap_ctrl_event *ev);
/* Parses a data comment into ev's header fields; 0 or -EINVAL (also for a library or function tlstap does not know). */
int pcap_out_parse_comment(const char *comment, struct tlstap_data_event *ev);
/* Parses the comment of a connection's FIN into a close or exit event; 0 or -EINVAL. */
int pcap_out_parse_close(const char *comment, struct tlstap_ctrl_event *ev);

/*
 * Bytes of s (n at most, up to a NUL) that are not [A-Za-z0-9._/-] as %XX,
 * so that comments and interface descriptions stay ASCII and parseable.
 * Cuts before an escape that would not fit; returns the bytes written.
 */
size_t pcap_pct_encode(char *out, size_t len, const char *s, size_t n);

#endif
