/* HTTP/2 decoding of one connection: frames, HPACK per direction, streams paired into exchanges. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nghttp2/nghttp2.h>
#include "http2.h"
#include "http2_frame.h"
#include "http_resync.h"
#include "http_scan.h"

#define MAX_STREAMS		1000
#define NBUCKETS		256
/* The largest HPACK dynamic table followed per direction; past it, headers are not decoded. */
#define MAX_TABLE		(64 * 1024)
#define MAX_PENDING_SETTINGS	16
#define RESYNC_WINDOW		(64 * 1024)

enum dstate { D_PREFACE, D_HDR, D_PAYLOAD, D_RESYNC };

/* Where the fields of the header block being decoded go. */
enum block_kind { B_DISCARD, B_REQ, B_REQ_TRAILERS, B_RESP, B_TRAILERS, B_PUSH };

struct h2_stream {
	struct h2_stream *hnext;	/* hash chain */
	struct h2_stream *prev, *next;	/* creation order */
	uint32_t id;
	struct http_xchg *x;
};

struct h2_dir {
	struct h2 *c;
	int dir;
	enum dstate st;
	size_t preface_have;
	bool seen_frame;
	uint8_t hdr[H2_FRAME_HDR];
	size_t hdr_have;
	struct h2_fh fh;
	uint64_t frame_ts;	/* arrival of the frame's first byte */
	uint64_t last_ts;
	uint32_t off;		/* payload bytes consumed */
	uint32_t prefix_len;	/* pad length, priority, promised id; or a fixed-size payload */
	uint32_t body_end;	/* where padding starts */
	uint8_t small[8];
	uint8_t unit[6];	/* SETTINGS entry being read */
	size_t unit_have;
	int64_t table_min, table_last;	/* SETTINGS_HEADER_TABLE_SIZE in this frame, -1 if none */
	nghttp2_hd_inflater *inf;
	/* A header block, from HEADERS or PUSH_PROMISE up to END_HEADERS. */
	bool in_block;
	enum block_kind bk;
	uint32_t block_sid, promised;
	bool block_es;
	uint64_t block_ts;
	struct http_xchg *blk;
	/* Table sizes [min, last] of SETTINGS this side sent and the other has not acknowledged. */
	int64_t pend[MAX_PENDING_SETTINGS][2];
	size_t npend;
	struct http_resync rs;
};

struct h2 {
	struct http_sink *s;
	nghttp2_mem ngmem;	/* HPACK tables are allocated through it: counted like the rest */
	int client_dir;
	bool frames_only;
	struct h2_dir d[2];
	struct h2_stream *buckets[NBUCKETS];
	struct h2_stream *first, *last;
	size_t nstreams;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- streams */

static struct h2_stream *find(struct h2 *c, uint32_t id)
{
	struct h2_stream *st;

	for (st = c->buckets[id % NBUCKETS]; st; st = st->hnext)
		if (st->id == id)
			return st;
	return NULL;
}

/* Takes x. NULL (x freed) past the stream limit. */
static struct h2_stream *stream_add(struct h2 *c, uint32_t id, struct http_xchg *x)
{
	struct h2_stream *st;

	if (c->nstreams >= MAX_STREAMS || !(st = mem_calloc(&c->s->mem, 1, sizeof(*st)))) {
		http_note(c->s, HN_STREAMS, "over %d open HTTP/2 streams: some not decoded", MAX_STREAMS);
		http_xchg_free(c->s, x);
		return NULL;
	}
	st->id = id;
	st->x = x;
	x->stream_id = id;
	st->hnext = c->buckets[id % NBUCKETS];
	c->buckets[id % NBUCKETS] = st;
	st->prev = c->last;
	if (c->last)
		c->last->next = st;
	else
		c->first = st;
	c->last = st;
	c->nstreams++;
	return st;
}

static void stream_remove(struct h2 *c, struct h2_stream *st)
{
	struct h2_stream **pp;

	for (pp = &c->buckets[st->id % NBUCKETS]; *pp; pp = &(*pp)->hnext) {
		if (*pp == st) {
			*pp = st->hnext;
			break;
		}
	}
	if (st->prev)
		st->prev->next = st->next;
	else
		c->first = st->next;
	if (st->next)
		st->next->prev = st->prev;
	else
		c->last = st->prev;
	c->nstreams--;
	http_xchg_free(c->s, st->x);
	mem_free(&c->s->mem, st);
}

static void stream_report(struct h2 *c, struct h2_stream *st)
{
	http_xchg_emit(c->s, st->x);
	stream_remove(c, st);
}

static void maybe_done(struct h2 *c, struct h2_stream *st)
{
	if (st && st->x->req_done && st->x->resp_done)
		stream_report(c, st);
}

static void flush_streams(struct h2 *c)
{
	while (c->first)
		stream_report(c, c->first);
}

/* ---- losing the header state */

static void drop_blocks(struct h2 *c)
{
	int i;

	for (i = 0; i < 2; i++) {
		http_xchg_free(c->s, c->d[i].blk);
		c->d[i].blk = NULL;
		c->d[i].in_block = false;
	}
}

/* Headers can no longer be decoded: what is open is reported, then frames only. */
static void desync(struct h2 *c, enum http_note_kind k, const char *note)
{
	http_note(c->s, k, "%s", note);
	if (c->frames_only)
		return;
	flush_streams(c);
	drop_blocks(c);
	c->frames_only = true;
}

static void invalid(struct h2 *c, const char *why)
{
	char note[128];

	snprintf(note, sizeof(note), "HTTP/2 %s: frames only, headers not decoded", why);
	desync(c, HN_H2_FRAMES, note);
}

static void not_http(struct h2 *c)
{
	flush_streams(c);
	drop_blocks(c);
	http_stop(c->s, HN_NOT_HTTP, "not HTTP: passing through (no HTTP/2 SETTINGS after the preface)");
}

/* ---- header blocks */

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

/* Returns 0 or -EPROTO when the block cannot be decompressed. */
static int inflate(struct h2 *c, struct h2_dir *d, const uint8_t *p, size_t n, bool final)
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

static void block_begin(struct h2 *c, struct h2_dir *d)
{
	struct h2_stream *st = find(c, d->fh.sid);
	bool client = d->dir == c->client_dir;

	d->in_block = true;
	d->block_sid = d->fh.sid;
	d->block_es = d->fh.type == H2_HEADERS && d->fh.flags & H2F_END_STREAM;
	d->block_ts = d->frame_ts;
	if (d->fh.type == H2_PUSH_PROMISE)
		d->bk = B_PUSH;
	else if (client)
		d->bk = st && st->x->req_seen ? B_REQ_TRAILERS : B_REQ;
	else
		d->bk = !st ? B_DISCARD : st->x->resp_seen ? B_TRAILERS : B_RESP;
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

static void block_end(struct h2 *c, struct h2_dir *d, uint64_t ts)
{
	struct http_xchg *b = d->blk;
	struct h2_stream *st;
	uint32_t id = d->bk == B_PUSH ? d->promised : d->block_sid;

	d->blk = NULL;
	d->in_block = false;
	st = find(c, id);
	switch (d->bk) {
	case B_REQ:
	case B_PUSH:
		if (st)
			break;
		st = stream_add(c, id, b);
		b = NULL;
		if (!st)
			break;
		st->x->req_seen = true;
		st->x->start_ns = st->x->end_ns = d->block_ts;
		/* A pushed request is complete as promised. */
		st->x->req_done = d->bk == B_PUSH || d->block_es;
		break;
	case B_REQ_TRAILERS:
		if (st && d->block_es)
			st->x->req_done = true;
		break;
	case B_RESP:
		/* 1xx: informational, the final response is still to come. */
		if (!st || (b->status >= 100 && b->status < 200))
			break;
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
	maybe_done(c, st);
}

/* ---- frames */

static void apply_settings_ack(struct h2 *c, struct h2_dir *d)
{
	struct h2_dir *o = &c->d[!d->dir];
	int64_t min, last;

	if (!o->npend)
		return;
	min = o->pend[0][0];
	last = o->pend[0][1];
	memmove(o->pend[0], o->pend[1], (o->npend - 1) * sizeof(o->pend[0]));
	o->npend--;
	if (min < 0)
		return;
	/*
	 * The other side's limit binds this side's encoder from this ACK on;
	 * past our own cap the encoder may use more than we follow, and the
	 * inflater then fails rather than decode from a wrong table.
	 */
	if (nghttp2_hd_inflate_change_table_size(d->inf, min > MAX_TABLE ? MAX_TABLE : (size_t)min) ||
	    nghttp2_hd_inflate_change_table_size(d->inf, last > MAX_TABLE ? MAX_TABLE : (size_t)last))
		invalid(c, "header table size change failed");
}

static void settings_unit(struct h2_dir *d)
{
	uint16_t id = (uint16_t)(d->unit[0] << 8 | d->unit[1]);
	int64_t v = be32(d->unit + 2);

	if (id != H2S_HEADER_TABLE_SIZE)
		return;
	if (d->table_min < 0 || v < d->table_min)
		d->table_min = v;
	d->table_last = v;
}

static void rst_stream(struct h2 *c, uint32_t sid, uint32_t code)
{
	struct h2_stream *st = find(c, sid);

	if (!st)
		return;
	/* NO_ERROR after a whole response: the server needs no more of the request. */
	st->x->incomplete = !(st->x->resp_done && code == 0);
	st->x->req_done = st->x->resp_done = true;
	stream_report(c, st);
}

/* Streams the receiver of GOAWAY opened above last were never processed. */
static void goaway(struct h2 *c, int dir, uint32_t last)
{
	struct h2_stream *st, *next;
	/* The server's GOAWAY is about client streams (odd), the client's about pushed ones (even). */
	uint32_t parity = dir == c->client_dir ? 0 : 1;

	for (st = c->first; st; st = next) {
		next = st->next;
		if (st->id > last && (st->id & 1) == parity) {
			st->x->incomplete = true;
			stream_report(c, st);
		}
	}
}

static void frame_end(struct h2 *c, struct h2_dir *d, uint64_t ts)
{
	struct h2_fh *f = &d->fh;
	struct h2_stream *st;

	d->st = D_HDR;
	d->hdr_have = 0;
	if (c->frames_only)
		return;
	switch (f->type) {
	case H2_DATA:
		st = find(c, f->sid);
		if (!st || !(f->flags & H2F_END_STREAM))
			break;
		if (d->dir == c->client_dir) {
			st->x->req_done = true;
		} else {
			st->x->resp_done = true;
			st->x->end_ns = ts;
		}
		maybe_done(c, st);
		break;
	case H2_HEADERS:
	case H2_PUSH_PROMISE:
	case H2_CONTINUATION:
		if (!(f->flags & H2F_END_HEADERS))
			break;
		if (inflate(c, d, (const uint8_t *)"", 0, true)) {
			invalid(c, "header compression error");
			break;
		}
		block_end(c, d, ts);
		break;
	case H2_SETTINGS:
		if (f->flags & H2F_ACK) {
			apply_settings_ack(c, d);
		} else if (d->npend < MAX_PENDING_SETTINGS) {
			d->pend[d->npend][0] = d->table_min;
			d->pend[d->npend][1] = d->table_last;
			d->npend++;
		} else {
			invalid(c, "SETTINGS never acknowledged");
		}
		break;
	case H2_RST_STREAM:
		rst_stream(c, f->sid, be32(d->small));
		break;
	case H2_GOAWAY:
		goaway(c, d->dir, be32(d->small) & 0x7fffffff);
		break;
	default:
		break;
	}
}

/* What a frame's type and length must agree on; NULL if they do. */
static const char *frame_error(struct h2 *c, struct h2_dir *d)
{
	struct h2_fh *f = &d->fh;

	switch (f->type) {
	case H2_DATA:
	case H2_HEADERS:
	case H2_PRIORITY:
	case H2_RST_STREAM:
	case H2_PUSH_PROMISE:
	case H2_CONTINUATION:
		if (!f->sid)
			return "frame on stream 0";
		break;
	case H2_SETTINGS:
	case H2_PING:
	case H2_GOAWAY:
		if (f->sid)
			return "connection frame on a stream";
		break;
	}
	if ((f->type == H2_SETTINGS && (f->len % 6 || (f->flags & H2F_ACK && f->len))) ||
	    (f->type == H2_PING && f->len != 8) || (f->type == H2_RST_STREAM && f->len != 4) ||
	    (f->type == H2_WINDOW_UPDATE && f->len != 4) || (f->type == H2_PRIORITY && f->len != 5) ||
	    (f->type == H2_GOAWAY && f->len < 8))
		return "frame of a bad size";
	if (f->type == H2_PUSH_PROMISE && d->dir == c->client_dir)
		return "PUSH_PROMISE from the client";
	if (d->in_block && (f->type != H2_CONTINUATION || f->sid != d->block_sid))
		return "header block interrupted";
	if (!d->in_block && f->type == H2_CONTINUATION)
		return "CONTINUATION without a header block";
	if (f->len < h2_fh_prefix_len(f))
		return "frame too short";
	return NULL;
}

static void prefix_done(struct h2 *c, struct h2_dir *d)
{
	struct h2_fh *f = &d->fh;
	uint32_t pad = 0;

	if (c->frames_only)
		return;
	if ((f->type == H2_DATA || f->type == H2_HEADERS || f->type == H2_PUSH_PROMISE) &&
	    f->flags & H2F_PADDED) {
		pad = d->small[0];
		if (pad > f->len - d->prefix_len) {
			invalid(c, "padding longer than the frame");
			return;
		}
	}
	d->body_end = f->len - pad;
	if (f->type == H2_HEADERS) {
		block_begin(c, d);
	} else if (f->type == H2_PUSH_PROMISE) {
		d->promised = be32(d->small + (f->flags & H2F_PADDED ? 1 : 0)) & 0x7fffffff;
		block_begin(c, d);
	}
}

static void frame_start(struct h2 *c, struct h2_dir *d)
{
	struct h2_fh *f = &d->fh;
	const char *err;

	h2_fh_parse(d->hdr, f);
	d->off = 0;
	d->unit_have = 0;
	d->table_min = d->table_last = -1;
	d->st = D_PAYLOAD;
	if (!c->frames_only && !d->seen_frame) {
		d->seen_frame = true;
		/* Each side's first frame is SETTINGS: anything else is not HTTP/2 after all. */
		if (f->type != H2_SETTINGS || f->flags & H2F_ACK) {
			not_http(c);
			return;
		}
	}
	if (!c->frames_only && (err = frame_error(c, d)))
		invalid(c, err);
	if (c->frames_only) {
		if (!h2_fh_plausible(f)) {
			/* Not a frame boundary after all: look for one. */
			d->st = D_RESYNC;
			return;
		}
		if (c->s->cb.on_h2_frame)
			c->s->cb.on_h2_frame(c->s->ctx, d->dir, f->type, f->flags, f->sid, f->len);
		d->prefix_len = 0;
		d->body_end = f->len;
	} else {
		switch (f->type) {
		case H2_RST_STREAM:
		case H2_WINDOW_UPDATE:
			d->prefix_len = 4;
			break;
		case H2_PRIORITY:
			d->prefix_len = 5;
			break;
		case H2_PING:
		case H2_GOAWAY:
			d->prefix_len = 8;
			break;
		default:
			d->prefix_len = h2_fh_prefix_len(f);
			break;
		}
		d->body_end = f->len;
		if (!d->prefix_len)
			prefix_done(c, d);
	}
	if (!f->len && !c->s->stopped)
		frame_end(c, d, d->frame_ts);
}

static void body(struct h2 *c, struct h2_dir *d, const uint8_t *p, size_t n, uint64_t ts)
{
	struct h2_stream *st;
	size_t k;

	if (c->frames_only)
		return;
	switch (d->fh.type) {
	case H2_DATA:
		st = find(c, d->fh.sid);
		if (!st)
			break;
		if (d->dir == c->client_dir) {
			http_xchg_body(c->s, st->x, 0, p, n);
		} else {
			http_xchg_body(c->s, st->x, 1, p, n);
			st->x->end_ns = ts;
		}
		break;
	case H2_HEADERS:
	case H2_PUSH_PROMISE:
	case H2_CONTINUATION:
		if (inflate(c, d, p, n, false))
			invalid(c, "header compression error");
		break;
	case H2_SETTINGS:
		while (n) {
			k = sizeof(d->unit) - d->unit_have;
			if (k > n)
				k = n;
			memcpy(d->unit + d->unit_have, p, k);
			d->unit_have += k;
			p += k;
			n -= k;
			if (d->unit_have == sizeof(d->unit)) {
				settings_unit(d);
				d->unit_have = 0;
			}
		}
		break;
	default:
		break;
	}
}

/* Bytes of the current frame's payload. Returns the bytes used. */
static size_t payload(struct h2 *c, struct h2_dir *d, const uint8_t *p, size_t n, uint64_t ts)
{
	size_t used = 0, k;

	while (used < n && d->off < d->fh.len && !c->s->stopped) {
		if (d->off < d->prefix_len) {
			k = d->prefix_len - d->off;
			if (k > n - used)
				k = n - used;
			memcpy(d->small + d->off, p + used, k);
			d->off += (uint32_t)k;
			used += k;
			if (d->off == d->prefix_len)
				prefix_done(c, d);
		} else if (d->off < d->body_end) {
			k = d->body_end - d->off;
			if (k > n - used)
				k = n - used;
			body(c, d, p + used, k, ts);
			d->off += (uint32_t)k;
			used += k;
		} else {
			k = d->fh.len - d->off;
			if (k > n - used)
				k = n - used;
			d->off += (uint32_t)k;
			used += k;
		}
	}
	if (d->off == d->fh.len && d->st == D_PAYLOAD && !c->s->stopped)
		frame_end(c, d, ts);
	return used;
}

/* Parses until the input is used up, decoding stops, or the frame boundary is lost. */
static size_t dir_run(struct h2 *c, struct h2_dir *d, const uint8_t *p, size_t n, uint64_t ts)
{
	size_t used = 0, k;

	d->last_ts = ts;
	while (used < n && !c->s->stopped && d->st != D_RESYNC) {
		switch (d->st) {
		case D_PREFACE:
			k = H2_PREFACE_LEN - d->preface_have;
			if (k > n - used)
				k = n - used;
			if (memcmp(p + used, h2_preface + d->preface_have, k)) {
				not_http(c);
				return used;
			}
			d->preface_have += k;
			used += k;
			if (d->preface_have == H2_PREFACE_LEN)
				d->st = D_HDR;
			break;
		case D_HDR:
			if (!d->hdr_have)
				d->frame_ts = ts;
			k = H2_FRAME_HDR - d->hdr_have;
			if (k > n - used)
				k = n - used;
			memcpy(d->hdr + d->hdr_have, p + used, k);
			d->hdr_have += k;
			used += k;
			if (d->hdr_have == H2_FRAME_HDR)
				frame_start(c, d);
			break;
		case D_PAYLOAD:
			used += payload(c, d, p + used, n - used, ts);
			break;
		default:
			return used;
		}
	}
	return used;
}

static size_t op_run(void *arg, const uint8_t *p, size_t n, uint64_t ts)
{
	struct h2_dir *d = arg;

	return dir_run(d->c, d, p, n, ts);
}

static bool op_lost(void *arg)
{
	return ((struct h2_dir *)arg)->st == D_RESYNC;
}

static bool op_stopped(void *arg)
{
	return ((struct h2_dir *)arg)->c->s->stopped;
}

static void op_found(void *arg, int kind)
{
	struct h2_dir *d = arg;

	d->st = D_HDR;
	d->hdr_have = 0;
}

static const struct http_resync_ops resync_ops = {
	.run = op_run, .lost = op_lost, .stopped = op_stopped, .found = op_found,
};

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

int h2_new(struct h2 **cp, struct http_sink *s, int client_dir, bool midstream)
{
	struct h2 *c = mem_calloc(&s->mem, 1, sizeof(*c));
	int i;

	if (!c)
		return -ENOMEM;
	c->s = s;
	c->ngmem = (nghttp2_mem){ .mem_user_data = &s->mem, .malloc = ng_malloc, .free = ng_free,
				  .calloc = ng_calloc, .realloc = ng_realloc };
	c->client_dir = client_dir;
	c->frames_only = midstream;
	for (i = 0; i < 2; i++) {
		struct h2_dir *d = &c->d[i];

		d->c = c;
		d->dir = i;
		http_resync_init(&d->rs, HS_H2, RESYNC_WINDOW, 0, &s->mem, &s->work);
		if (midstream)
			d->st = D_RESYNC;
		else
			d->st = i == client_dir ? D_PREFACE : D_HDR;
		if (nghttp2_hd_inflate_new2(&d->inf, &c->ngmem)) {
			h2_free(c);
			return -ENOMEM;
		}
	}
	if (midstream)
		http_note(s, HN_H2_FRAMES, "HTTP/2 joined mid-stream: frames only, headers not decoded");
	*cp = c;
	return 0;
}

void h2_feed(struct h2 *c, int dir, const uint8_t *p, size_t n, uint64_t ts)
{
	if (c->s->stopped || dir < 0 || dir > 1)
		return;
	http_resync_feed(&c->d[dir].rs, &resync_ops, &c->d[dir], p, n, ts);
}

void h2_gap(struct h2 *c, int dir, uint64_t len)
{
	struct h2_dir *d;
	struct h2_stream *st;
	uint64_t bodyk;
	char note[128];

	if (c->s->stopped || dir < 0 || dir > 1 || !len)
		return;
	d = &c->d[dir];
	if (d->st == D_RESYNC) {
		http_resync_reset(&d->rs);
		return;
	}
	if (d->st == D_PAYLOAD && len <= d->fh.len - d->off) {
		/* Inside one frame: its length keeps the boundary. Only DATA bytes lose nothing else. */
		if (!c->frames_only && d->fh.type == H2_DATA && d->off >= d->prefix_len) {
			bodyk = d->off < d->body_end ? d->body_end - d->off : 0;
			if (bodyk > len)
				bodyk = len;
			st = find(c, d->fh.sid);
			if (st && bodyk)
				http_xchg_body_gap(st->x, d->dir != c->client_dir, bodyk);
		} else if (!c->frames_only) {
			snprintf(note, sizeof(note),
				 "gap of %llu bytes in an HTTP/2 frame: frames only, headers not decoded",
				 (unsigned long long)len);
			desync(c, HN_GAP, note);
		}
		d->off += (uint32_t)len;
		if (d->off == d->fh.len)
			frame_end(c, d, d->last_ts);
		return;
	}
	snprintf(note, sizeof(note), "gap of %llu bytes: HTTP/2 frame boundary lost%s",
		 (unsigned long long)len, c->frames_only ? "" : ", frames only, headers not decoded");
	desync(c, HN_GAP, note);
	d->st = D_RESYNC;
	http_resync_reset(&d->rs);
}

void h2_close(struct h2 *c, uint64_t ts)
{
	int i;

	if (c->s->stopped)
		return;
	for (i = 0; i < 2; i++)
		http_resync_finish(&c->d[i].rs, &resync_ops, &c->d[i]);
	flush_streams(c);
}

void h2_abort(struct h2 *c)
{
	flush_streams(c);
	drop_blocks(c);
}

void h2_free(struct h2 *c)
{
	int i;

	if (!c)
		return;
	while (c->first)
		stream_remove(c, c->first);
	for (i = 0; i < 2; i++) {
		http_xchg_free(c->s, c->d[i].blk);
		if (c->d[i].inf)
			nghttp2_hd_inflate_del(c->d[i].inf);
		http_resync_free(&c->d[i].rs);
	}
	mem_free(&c->s->mem, c);
}
