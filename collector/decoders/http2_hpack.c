/* HTTP/2 header blocks: HPACK decoding per direction, its table size from SETTINGS, fields into the stream's exchange. */
#include <errno.h>
#include <string.h>
#include "http2.h"

/* The largest HPACK dynamic table followed per direction; past it, headers are not decoded. */
#define MAX_TABLE	(64 * 1024)

/* nghttp2's allocator hooks: its HPACK state counts against the connection's account. */
static void *ng_malloc(size_t size, void *ud)
{
	return mem_alloc(ud, size);
}

static void ng_free(void *p, void *ud)
{
	mem_free(ud, p);
}

static void *ng_calloc(size_t nmemb, size_t size, void *ud)
{
	return mem_calloc(ud, nmemb, size);
}

static void *ng_realloc(void *p, size_t size, void *ud)
{
	return mem_realloc(ud, p, size);
}

int h2_hpack_new(struct h2 *c, struct h2_dir *d)
{
	c->ngmem = (nghttp2_mem){ .mem_user_data = &c->s->mem, .malloc = ng_malloc, .free = ng_free,
				  .calloc = ng_calloc, .realloc = ng_realloc };
	return nghttp2_hd_inflate_new2(&d->inf, &c->ngmem) ? -ENOMEM : 0;
}

void h2_hpack_free(struct h2_dir *d)
{
	if (d->inf)
		nghttp2_hd_inflate_del(d->inf);
	d->inf = NULL;
}

static void block_field(struct h2 *c, struct h2_dir *d, const nghttp2_nv *nv)
{
	static const enum http_part part[] = {
		[B_REQ] = HP_REQ, [B_PUSH] = HP_REQ, [B_RESP] = HP_RESP, [B_TRAILERS] = HP_TRAILERS,
	};

	if (!d->blk || d->bk == B_DISCARD || d->bk == B_REQ_TRAILERS)
		return;
	http_xchg_header(c->s, d->blk, part[d->bk], (const char *)nv->name, nv->namelen,
			 (const char *)nv->value, nv->valuelen);
}

int h2_block_inflate(struct h2 *c, struct h2_dir *d, const uint8_t *p, size_t n, bool final)
{
	nghttp2_nv nv;
	ssize_t r;
	int fl;

	for (;;) {
		fl = 0;
		r = nghttp2_hd_inflate_hd2(d->inf, &nv, &fl, p, n, final);
		if (r < 0 || (size_t)r > n)
			return -EPROTO;
		p += r;
		n -= (size_t)r;
		if (fl & NGHTTP2_HD_INFLATE_EMIT)
			block_field(c, d, &nv);
		if (fl & NGHTTP2_HD_INFLATE_FINAL) {
			nghttp2_hd_inflate_end_headers(d->inf);
			return 0;
		}
		if (!(fl & NGHTTP2_HD_INFLATE_EMIT) && !n)
			return final ? -EPROTO : 0;
	}
}

/*
 * A response on a stream whose request has not been seen: records are
 * stamped when their call returns, and a client that writes from one thread
 * and reads from another (Go's transport) can read the response back before
 * the write of its request has returned. Only a client stream above every
 * request seen can be that; one below was closed or reset.
 */
static bool early_response(const struct h2 *c, uint32_t sid)
{
	return (sid & 1) && sid > c->max_req_sid;
}

void h2_block_begin(struct h2 *c, struct h2_dir *d)
{
	struct h2_stream *st = h2_stream_find(c, d->fh.sid);
	bool client = d->dir == c->client_dir;

	d->in_block = true;
	d->block_sid = d->fh.sid;
	d->block_es = d->fh.type == H2_HEADERS && d->fh.flags & H2F_END_STREAM;
	d->block_ts = d->frame_ts;
	if (d->fh.type == H2_PUSH_PROMISE)
		d->bk = B_PUSH;
	else if (client)
		d->bk = st && st->x->req_seen ? B_REQ_TRAILERS : B_REQ;
	else if (st)
		d->bk = st->x->resp_seen ? B_TRAILERS : B_RESP;
	else
		d->bk = early_response(c, d->fh.sid) ? B_RESP : B_DISCARD;
	/* Fields are collected apart: the stream may be reset while the block is still coming. */
	if (d->bk != B_DISCARD && d->bk != B_REQ_TRAILERS) {
		d->blk = http_xchg_new(c->s, "h2", c->client_dir);
		if (!d->blk)
			d->bk = B_DISCARD;
	}
}

static void move_response_part(struct h2 *c, struct http_xchg *x, struct http_xchg *b,
			       enum http_part part)
{
	struct http_hdrs t = x->hdrs[part];

	x->hdrs[part] = b->hdrs[part];
	b->hdrs[part] = t;
	if (b->grpc)
		x->grpc = true;
	if (b->grpc_status >= 0)
		x->grpc_status = b->grpc_status;
	if (b->grpc_message) {
		mem_free(&c->s->mem, x->grpc_message);
		x->grpc_message = b->grpc_message;
		b->grpc_message = NULL;
	}
}

/* A request's header block (or a promised one) opens its stream. Takes b. */
static void request_block(struct h2 *c, struct h2_dir *d, uint32_t id, struct http_xchg *b)
{
	struct h2_stream *st = h2_stream_add(c, id, b);

	if (!st)
		return;
	st->x->req_seen = true;
	st->x->start_ns = st->x->end_ns = d->block_ts;
	/* A pushed request is complete as promised. */
	st->x->req_done = d->bk == B_PUSH || d->block_es;
	h2_stream_maybe_done(c, st);
}

/* The request of a stream whose response came first: b takes the response over. Takes b. */
static void request_after_response(struct h2 *c, struct h2_dir *d, struct h2_stream *st,
				   struct http_xchg *b)
{
	struct http_xchg *x = st->x;
	struct http_body t;

	move_response_part(c, b, x, HP_RESP);
	move_response_part(c, b, x, HP_TRAILERS);
	t = b->body[1];
	b->body[1] = x->body[1];
	x->body[1] = t;
	b->status = x->status;
	b->stream_id = x->stream_id;
	b->incomplete = x->incomplete;
	b->resp_seen = x->resp_seen;
	b->resp_done = x->resp_done;
	b->start_ns = x->start_ns < d->block_ts ? x->start_ns : d->block_ts;
	b->end_ns = x->end_ns;
	b->req_seen = true;
	b->req_done = d->block_es || st->reset_early;
	st->x = b;
	http_xchg_free(c->s, x);
	h2_stream_maybe_done(c, st);
}

void h2_block_end(struct h2 *c, struct h2_dir *d, uint64_t ts)
{
	struct http_xchg *b = d->blk;
	uint32_t id = d->bk == B_PUSH ? d->promised : d->block_sid;
	struct h2_stream *st = h2_stream_find(c, id);

	d->blk = NULL;
	d->in_block = false;
	switch (d->bk) {
	case B_REQ:
	case B_PUSH:
		if (d->bk == B_REQ && id > c->max_req_sid)
			c->max_req_sid = id;
		if (!st) {
			request_block(c, d, id, b);
			return;
		}
		if (d->bk == B_REQ && !st->x->req_seen) {
			request_after_response(c, d, st, b);
			return;
		}
		break;
	case B_REQ_TRAILERS:
		if (st && d->block_es)
			st->x->req_done = true;
		break;
	case B_RESP:
		/* 1xx: informational, the final response is still to come. */
		if (b->status >= 100 && b->status < 200)
			break;
		if (!st && !early_response(c, id))
			break;
		if (!st) {
			/* Its request is still to come: b waits for it on its stream. */
			st = h2_stream_add(c, id, b);
			if (!st)
				return;
			b->resp_seen = true;
			b->start_ns = d->block_ts;
			b->end_ns = ts;
			b->resp_done = d->block_es;
			return;
		}
		move_response_part(c, st->x, b, HP_RESP);
		st->x->status = b->status;
		st->x->resp_seen = true;
		st->x->end_ns = ts;
		st->x->resp_done = d->block_es;
		break;
	case B_TRAILERS:
		if (!st)
			break;
		move_response_part(c, st->x, b, HP_TRAILERS);
		st->x->end_ns = ts;
		st->x->resp_done = true;
		break;
	default:
		break;
	}
	http_xchg_free(c->s, b);
	h2_stream_maybe_done(c, st);
}

void h2_blocks_drop(struct h2 *c)
{
	int i;

	for (i = 0; i < 2; i++) {
		http_xchg_free(c->s, c->d[i].blk);
		c->d[i].blk = NULL;
		c->d[i].in_block = false;
	}
}

void h2_settings_unit(struct h2_dir *d)
{
	uint16_t id = (uint16_t)(d->unit[0] << 8 | d->unit[1]);
	int64_t v = h2_be32(d->unit + 2);

	if (id != H2S_HEADER_TABLE_SIZE)
		return;
	if (d->table_min < 0 || v < d->table_min)
		d->table_min = v;
	d->table_last = v;
}

/*
 * The other side's limit binds acker's encoder from the ACK on; past our
 * own cap the encoder may use more than we follow, and the inflater then
 * fails rather than decode from a wrong table.
 */
static void apply_table_size(struct h2 *c, struct h2_dir *acker, int64_t min, int64_t last)
{
	if (min < 0)
		return;
	if (nghttp2_hd_inflate_change_table_size(acker->inf, min > MAX_TABLE ? MAX_TABLE : (size_t)min) ||
	    nghttp2_hd_inflate_change_table_size(acker->inf, last > MAX_TABLE ? MAX_TABLE : (size_t)last))
		h2_invalid(c, "header table size change failed");
}

void h2_settings_sent(struct h2 *c, struct h2_dir *d)
{
	if (d->early_acks) {
		/* Acknowledged already: it binds from now. */
		d->early_acks--;
		apply_table_size(c, &c->d[!d->dir], d->table_min, d->table_last);
		return;
	}
	if (d->npend == H2_MAX_PENDING_SETTINGS) {
		h2_invalid(c, "SETTINGS never acknowledged");
		return;
	}
	d->pend[d->npend][0] = d->table_min;
	d->pend[d->npend][1] = d->table_last;
	d->npend++;
}

void h2_settings_ack(struct h2 *c, struct h2_dir *d)
{
	struct h2_dir *o = &c->d[!d->dir];
	int64_t min, last;

	if (!o->npend) {
		/* Its SETTINGS may still be on their way (see early_acks); a peer
		 * that acknowledges what was never sent is only counted so far. */
		if (o->early_acks < H2_MAX_PENDING_SETTINGS)
			o->early_acks++;
		return;
	}
	min = o->pend[0][0];
	last = o->pend[0][1];
	memmove(o->pend[0], o->pend[1], (o->npend - 1) * sizeof(o->pend[0]));
	o->npend--;
	apply_table_size(c, d, min, last);
}
