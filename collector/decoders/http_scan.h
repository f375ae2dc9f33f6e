/* Finding where decoding can start in bytes that begin anywhere in an HTTP stream. */
#ifndef TLSTAP_HTTP_SCAN_H
#define TLSTAP_HTTP_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum http_scan_kind {
	HS_REQ = 1,		/* a request line with a well-known method */
	HS_RESP = 2,		/* a status line */
	HS_H2 = 4,		/* several plausible HTTP/2 frame headers in a row */
};

/* Plausible frame headers in a row that count as an HTTP/2 frame boundary. */
#define HS_H2_CHAIN	3

/*
 * What a scan leaves for the next one over the same bytes (from where it
 * stopped, plus what arrived since): what the open candidate waits for,
 * since scanning again sooner gives the same answer, and how far line
 * feeds were already looked for. Without this, bytes trickling in would
 * be rescanned each time. All zero: nothing known, scan at once.
 */
struct http_seek {
	size_t from, to;	/* no byte of the kind sought in [from, to) */
	bool found;		/* and one at to */
};

struct http_scan_wait {
	size_t len;		/* this many bytes from where the scan stopped */
	bool lf;		/* or a line feed after them */
	struct http_seek lf_seek;	/* line feeds already looked for */
};

/*
 * The first place in p[0..n) where a kind in want starts. Returns the kind
 * with *off where it starts, or 0 with *off = how many leading bytes no
 * match can start in (the caller may drop them; the rest may begin one
 * once more bytes come, as *wait says). A line must end within max_line
 * bytes. at_end: nothing more will come, so shorter HTTP/2 chains that end
 * exactly at n are accepted and candidates needing more bytes are not.
 * wait (may be NULL): what the previous scan left, when p begins where it
 * stopped; on return, relative to p + *off. work (may be NULL) grows by
 * the bytes looked at.
 */
int http_scan(const uint8_t *p, size_t n, unsigned want, bool at_end, size_t max_line,
	      size_t *off, struct http_scan_wait *wait, uint64_t *work);
/* Whether bytes p[0..n) just added to a scanned buffer now holding len bytes can change its answer. */
bool http_scan_worth(const struct http_scan_wait *wait, size_t len, const uint8_t *p, size_t n);

#endif
