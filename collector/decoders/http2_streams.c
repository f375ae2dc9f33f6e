/* HTTP/2 streams of one connection: each open stream's exchange, found by id, reported when done, reset or refused. */
#include "http2.h"

#define MAX_STREAMS	1000

static struct h2_stream *stream_at(struct dlist_node *n)
{
	return n ? container_of(n, struct h2_stream, link) : NULL;
}

static struct chain_link **bucket(struct h2 *c, uint32_t id)
{
	return &c->buckets[hash_bucket(id, H2_BUCKET_BITS)];
}

struct h2_stream *h2_stream_find(struct h2 *c, uint32_t id)
{
	return chain_find(*bucket(c, id), struct h2_stream, hlink, id, id);
}

struct h2_stream *h2_stream_add(struct h2 *c, uint32_t id, struct http_xchg *x)
{
	struct h2_stream *st;

	if (c->streams.n >= MAX_STREAMS || !(st = mem_calloc(&c->s->mem, 1, sizeof(*st)))) {
		http_note(c->s, HN_STREAMS, "over %d open HTTP/2 streams: some not decoded", MAX_STREAMS);
		http_xchg_free(c->s, x);
		return NULL;
	}
	st->id = id;
	st->x = x;
	x->stream_id = id;
	chain_add(bucket(c, id), &st->hlink);
	dlist_append(&c->streams, &st->link);
	return st;
}

static void stream_remove(struct h2 *c, struct h2_stream *st)
{
	chain_del(&st->hlink);
	dlist_unlink(&c->streams, &st->link);
	http_xchg_free(c->s, st->x);
	mem_free(&c->s->mem, st);
}

void h2_stream_report(struct h2 *c, struct h2_stream *st)
{
	http_xchg_emit(c->s, st->x);
	stream_remove(c, st);
}

void h2_stream_maybe_done(struct h2 *c, struct h2_stream *st)
{
	if (st && st->x->req_done && st->x->resp_done)
		h2_stream_report(c, st);
}

void h2_streams_flush(struct h2 *c)
{
	while (c->streams.first)
		h2_stream_report(c, stream_at(c->streams.first));
}

void h2_streams_free(struct h2 *c)
{
	while (c->streams.first)
		stream_remove(c, stream_at(c->streams.first));
}

void h2_rst_stream(struct h2 *c, int dir, uint32_t sid, uint32_t code)
{
	struct h2_stream *st = h2_stream_find(c, sid);

	if (!st)
		return;
	/* NO_ERROR after a whole response: the server needs no more of the request. */
	st->x->incomplete = !(st->x->resp_done && code == 0);
	st->x->resp_done = true;
	if (dir != c->client_dir && !st->x->req_seen) {
		/* Its request is still to come (see early_response): it waits for it. */
		st->reset_early = true;
		return;
	}
	st->x->req_done = true;
	h2_stream_report(c, st);
}

void h2_goaway(struct h2 *c, int dir, uint32_t last)
{
	struct h2_stream *st, *next;
	/* The server's GOAWAY is about client streams (odd), the client's about pushed ones (even). */
	uint32_t parity = dir == c->client_dir ? 0 : 1;

	for (st = stream_at(c->streams.first); st; st = next) {
		next = stream_at(st->link.next);
		if (st->id > last && (st->id & 1) == parity) {
			st->x->incomplete = true;
			h2_stream_report(c, st);
		}
	}
}
