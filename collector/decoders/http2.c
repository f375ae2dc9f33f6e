/* HTTP/2 decoding of one connection: the parser's entry points and its byte loop (preface, frames, gaps). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "http2.h"
#include "http_parser.h"
#include "http_scan.h"

void h2_desync(struct h2 *c, enum http_note_kind k, const char *note)
{
	http_note(c->s, k, "%s", note);
	if (c->frames_only)
		return;
	h2_streams_flush(c);
	h2_blocks_drop(c);
	c->frames_only = true;
}

void h2_invalid(struct h2 *c, const char *why)
{
	char note[128];

	snprintf(note, sizeof(note), "HTTP/2 %s: frames only, headers not decoded", why);
	h2_desync(c, HN_H2_FRAMES, note);
}

static void not_http(struct h2 *c)
{
	h2_streams_flush(c);
	h2_blocks_drop(c);
	http_stop(c->s, HN_NOT_HTTP, "not HTTP: passing through (no HTTP/2 SETTINGS after the preface)");
}

/* DATA with END_STREAM: that side of the stream is complete. */
static void data_end(struct h2 *c, struct h2_dir *d, uint64_t ts)
{
	struct h2_stream *st = h2_stream_find(c, d->fh.sid);

	if (!st)
		return;
	if (d->dir == c->client_dir) {
		st->x->req_done = true;
	} else {
		st->x->resp_done = true;
		st->x->end_ns = ts;
	}
	h2_stream_maybe_done(c, st);
}

static void frame_end(struct h2 *c, struct h2_dir *d, uint64_t ts)
{
	struct h2_fh *f = &d->fh;

	d->st = D_HDR;
	d->hdr_have = 0;
	if (c->frames_only)
		return;
	switch (f->type) {
	case H2_DATA:
		if (f->flags & H2F_END_STREAM)
			data_end(c, d, ts);
		break;
	case H2_HEADERS:
	case H2_PUSH_PROMISE:
	case H2_CONTINUATION:
		if (!(f->flags & H2F_END_HEADERS))
			break;
		if (h2_block_inflate(c, d, (const uint8_t *)"", 0, true)) {
			h2_invalid(c, "header compression error");
			break;
		}
		h2_block_end(c, d, ts);
		break;
	case H2_SETTINGS:
		if (f->flags & H2F_ACK)
			h2_settings_ack(c, d);
		else
			h2_settings_sent(c, d);
		break;
	case H2_RST_STREAM:
		h2_rst_stream(c, d->dir, f->sid, h2_be32(d->small));
		break;
	case H2_GOAWAY:
		h2_goaway(c, d->dir, h2_be32(d->small) & 0x7fffffff);
		break;
	default:
		break;
	}
}

/* What a frame's header must agree on, alone and with the header block under way; NULL if it does. */
static const char *frame_error(struct h2 *c, struct h2_dir *d)
{
	struct h2_fh *f = &d->fh;
	const char *err = h2_fh_error(f, d->dir == c->client_dir);

	if (err)
		return err;
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
			h2_invalid(c, "padding longer than the frame");
			return;
		}
	}
	d->body_end = f->len - pad;
	if (f->type == H2_HEADERS) {
		h2_block_begin(c, d);
	} else if (f->type == H2_PUSH_PROMISE) {
		d->promised = h2_be32(d->small + (f->flags & H2F_PADDED ? 1 : 0)) & 0x7fffffff;
		h2_block_begin(c, d);
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
		h2_invalid(c, err);
	if (c->frames_only) {
		if (!h2_fh_plausible(f)) {
			/* Not a frame boundary after all: look for one. */
			d->st = D_HDR;
			d->rs.lost = true;
			return;
		}
		if (c->s->cb.on_h2_frame)
			c->s->cb.on_h2_frame(c->s->ctx, d->dir, f->type, f->flags, f->sid, f->len);
		d->prefix_len = 0;
		d->body_end = f->len;
	} else {
		d->prefix_len = h2_fh_head_len(f);
		d->body_end = f->len;
		if (!d->prefix_len)
			prefix_done(c, d);
	}
	if (!f->len && !c->s->stopped)
		frame_end(c, d, d->frame_ts);
}

/* Takes bytes of p into dst, which holds *have of the want it needs. Returns the bytes taken. */
static size_t fill(uint8_t *dst, size_t *have, size_t want, const uint8_t *p, size_t n)
{
	size_t k = want - *have < n ? want - *have : n;

	memcpy(dst + *have, p, k);
	*have += k;
	return k;
}

/* Payload bytes past the prefix, before the padding. */
static void body(struct h2 *c, struct h2_dir *d, const uint8_t *p, size_t n, uint64_t ts)
{
	struct h2_stream *st;
	size_t k;

	if (c->frames_only)
		return;
	switch (d->fh.type) {
	case H2_DATA:
		st = h2_stream_find(c, d->fh.sid);
		if (!st)
			break;
		http_xchg_body(c->s, st->x, d->dir != c->client_dir, p, n);
		if (d->dir != c->client_dir)
			st->x->end_ns = ts;
		break;
	case H2_HEADERS:
	case H2_PUSH_PROMISE:
	case H2_CONTINUATION:
		if (h2_block_inflate(c, d, p, n, false))
			h2_invalid(c, "header compression error");
		break;
	case H2_SETTINGS:
		while (n) {
			k = fill(d->unit, &d->unit_have, sizeof(d->unit), p, n);
			p += k;
			n -= k;
			if (d->unit_have == sizeof(d->unit)) {
				h2_settings_unit(d);
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
	size_t used = 0, k, have;

	while (used < n && d->off < d->fh.len && !c->s->stopped) {
		if (d->off < d->prefix_len) {
			have = d->off;
			k = fill(d->small, &have, d->prefix_len, p + used, n - used);
			d->off += (uint32_t)k;
			used += k;
			if (d->off == d->prefix_len)
				prefix_done(c, d);
			continue;
		}
		k = (d->off < d->body_end ? d->body_end : d->fh.len) - d->off;
		if (k > n - used)
			k = n - used;
		if (d->off < d->body_end)
			body(c, d, p + used, k, ts);
		d->off += (uint32_t)k;
		used += k;
	}
	if (d->off == d->fh.len && d->st == D_PAYLOAD && !c->s->stopped)
		frame_end(c, d, ts);
	return used;
}

/* Parses until the input is used up, decoding stops, or the frame boundary is lost. */
static size_t dir_run(void *arg, const uint8_t *p, size_t n, uint64_t ts)
{
	struct h2_dir *d = arg;
	struct h2 *c = d->c;
	size_t used = 0, k;

	d->last_ts = ts;
	while (used < n && !c->s->stopped && !d->rs.lost) {
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
			used += fill(d->hdr, &d->hdr_have, H2_FRAME_HDR, p + used, n - used);
			if (d->hdr_have == H2_FRAME_HDR)
				frame_start(c, d);
			break;
		case D_PAYLOAD:
			used += payload(c, d, p + used, n - used, ts);
			break;
		}
	}
	return used;
}

/* A resync found a frame boundary: a frame header comes next. */
static void dir_found(void *arg, int kind)
{
	struct h2_dir *d = arg;

	d->hdr_have = 0;
}

static const struct http_resync_ops resync_ops = { .run = dir_run, .found = dir_found };

static void h2_free(void *arg)
{
	struct h2 *c = arg;
	int i;

	h2_streams_free(c);
	h2_blocks_drop(c);
	for (i = 0; i < 2; i++) {
		h2_hpack_free(&c->d[i]);
		http_resync_free(&c->d[i].rs);
	}
	mem_free(&c->s->mem, c);
}

static int h2_create(void **cp, struct http_sink *s, int client_dir, bool midstream)
{
	struct h2 *c = mem_calloc(&s->mem, 1, sizeof(*c));
	int i;

	if (!c)
		return -ENOMEM;
	c->s = s;
	c->client_dir = client_dir;
	c->frames_only = midstream;
	for (i = 0; i < 2; i++) {
		struct h2_dir *d = &c->d[i];

		d->c = c;
		d->dir = i;
		http_resync_init(&d->rs, s, HS_H2, 0, &resync_ops, d);
		d->rs.lost = midstream;
		d->st = i == client_dir && !midstream ? D_PREFACE : D_HDR;
		if (h2_hpack_new(c, d)) {
			h2_free(c);
			return -ENOMEM;
		}
	}
	if (midstream)
		http_note(s, HN_H2_FRAMES, "HTTP/2 joined mid-stream: frames only, headers not decoded");
	*cp = c;
	return 0;
}

static void h2_feed(void *arg, int dir, const uint8_t *p, size_t n, uint64_t ts)
{
	http_resync_feed(&((struct h2 *)arg)->d[dir].rs, p, n, ts);
}

/* A hole inside the current frame, whose length keeps the boundary. */
static void frame_gap(struct h2 *c, struct h2_dir *d, uint64_t len)
{
	struct h2_stream *st;
	uint64_t bodyk;
	char note[128];

	/* Only DATA bytes lose nothing else. */
	if (!c->frames_only && d->fh.type == H2_DATA && d->off >= d->prefix_len) {
		bodyk = d->off < d->body_end ? d->body_end - d->off : 0;
		if (bodyk > len)
			bodyk = len;
		st = h2_stream_find(c, d->fh.sid);
		if (st && bodyk)
			http_xchg_body_gap(st->x, d->dir != c->client_dir, bodyk);
	} else if (!c->frames_only) {
		snprintf(note, sizeof(note),
			 "gap of %llu bytes in an HTTP/2 frame: frames only, headers not decoded",
			 (unsigned long long)len);
		h2_desync(c, HN_GAP, note);
	}
	d->off += (uint32_t)len;
	if (d->off == d->fh.len)
		frame_end(c, d, d->last_ts);
}

static void h2_gap(void *arg, int dir, uint64_t len)
{
	struct h2 *c = arg;
	struct h2_dir *d = &c->d[dir];
	char note[128];

	if (d->rs.lost) {
		http_resync_reset(&d->rs);
		return;
	}
	if (d->st == D_PAYLOAD && len <= d->fh.len - d->off) {
		frame_gap(c, d, len);
		return;
	}
	snprintf(note, sizeof(note), "gap of %llu bytes: HTTP/2 frame boundary lost%s",
		 (unsigned long long)len, c->frames_only ? "" : ", frames only, headers not decoded");
	h2_desync(c, HN_GAP, note);
	d->st = D_HDR;
	d->rs.lost = true;
	http_resync_reset(&d->rs);
}

static void h2_close(void *arg, uint64_t ts)
{
	struct h2 *c = arg;
	int i;

	if (c->s->stopped)
		return;
	for (i = 0; i < 2; i++)
		http_resync_finish(&c->d[i].rs);
	h2_streams_flush(c);
}

static void h2_abort(void *arg)
{
	h2_streams_flush(arg);
	h2_blocks_drop(arg);
}

const struct http_parser http2_parser = {
	.create = h2_create, .feed = h2_feed, .gap = h2_gap, .close = h2_close,
	.abort = h2_abort, .free = h2_free,
};
