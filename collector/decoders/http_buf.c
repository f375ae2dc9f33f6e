/* Bounded growable byte buffers for the HTTP decoders, with the timestamp of every byte. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "http_buf.h"

/*
 * Marks are few in practice (one per feed that is still buffered), but a
 * stream fed one byte at a time with changing clocks could make one per
 * byte: past this many, neighbours merge and the later time is lost.
 */
#define MAX_MARKS	256

void http_buf_init(struct http_buf *b, size_t max, struct mem_account *mem)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
	b->mem = mem;
}

void http_buf_free(struct http_buf *b)
{
	mem_free(b->mem, b->p);
	mem_free(b->mem, b->marks);
	http_buf_init(b, b->max, b->mem);
}

void http_buf_reset(struct http_buf *b)
{
	b->len = 0;
	b->nmarks = 0;
}

static int add_mark(struct http_buf *b, size_t off, uint64_t ts)
{
	struct http_ts_mark *m;
	size_t i, j;

	if (b->nmarks && b->marks[b->nmarks - 1].ts == ts)
		return 0;
	if (b->nmarks == MAX_MARKS) {
		/* Keep every other mark: times become approximate, never wrong in order. */
		for (i = 0, j = 0; i < b->nmarks; i += 2)
			b->marks[j++] = b->marks[i];
		b->nmarks = j;
	}
	if (b->nmarks == b->cap_marks) {
		size_t cap = b->cap_marks ? b->cap_marks * 2 : 4;

		m = mem_realloc(b->mem, b->marks, cap * sizeof(*m));
		if (!m)
			return -ENOMEM;
		b->marks = m;
		b->cap_marks = cap;
	}
	b->marks[b->nmarks].off = off;
	b->marks[b->nmarks].ts = ts;
	b->nmarks++;
	return 0;
}

int http_buf_append(struct http_buf *b, const uint8_t *p, size_t n, uint64_t ts)
{
	uint8_t *np;
	size_t cap;

	if (!n)
		return 0;
	if (n > b->max || b->len > b->max - n)
		return -E2BIG;
	if (b->len + n > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		if (cap > b->max)
			cap = b->max;
		np = mem_realloc(b->mem, b->p, cap);
		if (!np)
			return -ENOMEM;
		b->p = np;
		b->cap = cap;
	}
	if (add_mark(b, b->len, ts))
		return -ENOMEM;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

void http_buf_consume(struct http_buf *b, size_t n)
{
	size_t i, keep;

	if (n >= b->len) {
		http_buf_reset(b);
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
	/* The last mark at or before n becomes the first, at 0. */
	for (keep = 0; keep + 1 < b->nmarks && b->marks[keep + 1].off <= n; keep++)
		;
	for (i = keep; i < b->nmarks; i++) {
		b->marks[i - keep] = b->marks[i];
		b->marks[i - keep].off = b->marks[i].off > n ? b->marks[i].off - n : 0;
	}
	b->nmarks -= keep;
}

uint64_t http_buf_ts_at(const struct http_buf *b, size_t off)
{
	size_t i;

	if (!b->nmarks)
		return 0;
	for (i = b->nmarks; i > 1 && b->marks[i - 1].off > off; i--)
		;
	return b->marks[i - 1].ts;
}
