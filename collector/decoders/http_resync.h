/* Feeding a parser that may lose its place: bytes go to a scan window until a start is found, then are replayed. */
#ifndef TLSTAP_HTTP_RESYNC_H
#define TLSTAP_HTTP_RESYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "http_buf.h"
#include "http_scan.h"

struct http_resync_ops {
	/* Parses; returns the bytes used, fewer when it stopped or lost its place. */
	size_t (*run)(void *arg, const uint8_t *p, size_t n, uint64_t ts);
	/* Whether the parser is looking for a place to start. */
	bool (*lost)(void *arg);
	bool (*stopped)(void *arg);
	/* The window now begins with a start of a wanted kind: parse from there. */
	void (*found)(void *arg, int kind);
};

struct http_resync {
	struct http_buf win;
	struct http_scan_wait wait;	/* what the window's open candidate waits for */
	unsigned want;		/* enum http_scan_kind bits */
	size_t max_line;
	uint64_t *work;		/* grows by the bytes the scans look at */
};

/* mem: what the window is counted in; work: grows by the bytes scans look at. */
void http_resync_init(struct http_resync *r, unsigned want, size_t window, size_t max_line,
		      struct mem_account *mem, uint64_t *work);
void http_resync_free(struct http_resync *r);
/* A hole in the stream: bytes on both sides of it must not make one match. */
void http_resync_reset(struct http_resync *r);
void http_resync_feed(struct http_resync *r, const struct http_resync_ops *ops, void *arg,
		      const uint8_t *p, size_t n, uint64_t ts);
/* At the end of the stream: a match that needed more bytes is judged on what there is. */
void http_resync_finish(struct http_resync *r, const struct http_resync_ops *ops, void *arg);

#endif
