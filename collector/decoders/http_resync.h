/* Feeding a parser that may lose its place: bytes go to a scan window until a start is found, then are replayed. */
#ifndef TLSTAP_HTTP_RESYNC_H
#define TLSTAP_HTTP_RESYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "http_buf.h"
#include "http_scan.h"
#include "http_xchg.h"

struct http_resync_ops {
	/* Parses; returns the bytes used, fewer when decoding stopped or it set lost. */
	size_t (*run)(void *arg, const uint8_t *p, size_t n, uint64_t ts);
	/* The window now begins with a start of a wanted kind (lost is cleared): parse from there. */
	void (*found)(void *arg, int kind);
};

struct http_resync {
	/* The parser looks for a place to start: it sets this, a match clears it. */
	bool lost;
	const struct http_resync_ops *ops;
	void *arg;		/* the parser's, for ops */
	const bool *stopped;	/* the sink's: nothing more is parsed */
	struct http_buf win;
	struct http_scan_wait wait;	/* what the window's open candidate waits for */
	unsigned want;		/* enum http_scan_kind bits */
	size_t max_line;
	uint64_t *work;		/* grows by the bytes the scans look at */
};

/*
 * Feeds ops->run with arg; the window and the scans' work are counted in
 * the sink s. want: enum http_scan_kind bits; max_line: for HS_REQ, HS_RESP.
 */
void http_resync_init(struct http_resync *r, struct http_sink *s, unsigned want, size_t max_line,
		      const struct http_resync_ops *ops, void *arg);
void http_resync_free(struct http_resync *r);
/* A hole in the stream: bytes on both sides of it must not make one match. */
void http_resync_reset(struct http_resync *r);
void http_resync_feed(struct http_resync *r, const uint8_t *p, size_t n, uint64_t ts);
/* At the end of the stream: a match that needed more bytes is judged on what there is. */
void http_resync_finish(struct http_resync *r);

#endif
