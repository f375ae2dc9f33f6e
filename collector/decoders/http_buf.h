/* Bounded growable byte buffers for the HTTP decoders, with the timestamp of every byte. */
#ifndef TLSTAP_HTTP_BUF_H
#define TLSTAP_HTTP_BUF_H

#include <stddef.h>
#include <stdint.h>
#include "mem_budget.h"

/* Where a run of bytes with one arrival time begins. */
struct http_ts_mark {
	size_t off;
	uint64_t ts;
};

struct http_buf {
	uint8_t *p;
	size_t len, cap;
	size_t max;			/* append fails past this */
	struct http_ts_mark *marks;	/* sorted by off; marks[0].off == 0 when len > 0 */
	size_t nmarks, cap_marks;
	struct mem_account *mem;	/* what the buffer's memory is counted in */
};

void http_buf_init(struct http_buf *b, size_t max, struct mem_account *mem);
void http_buf_free(struct http_buf *b);
void http_buf_reset(struct http_buf *b);
/* Returns 0, -E2BIG past b->max (nothing appended) or -ENOMEM (also: over the memory budget). */
int http_buf_append(struct http_buf *b, const uint8_t *p, size_t n, uint64_t ts);
/* Drops the first n bytes (n <= len). */
void http_buf_consume(struct http_buf *b, size_t n);
/* Arrival time of byte off (< len); 0 for an empty buffer. */
uint64_t http_buf_ts_at(const struct http_buf *b, size_t off);

#endif
