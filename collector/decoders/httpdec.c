/* Per-connection HTTP decoding: which protocol, which side is the client, then hand off to HTTP/1 or HTTP/2. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "httpdec.h"
#include "http2_frame.h"
#include "http_buf.h"
#include "http_parser.h"
#include "http_scan.h"
#include "http_xchg.h"

/*
 * Bytes held per direction before deciding. From the start of a stream a
 * few dozen bytes decide; only an HTTP/2 server's SETTINGS, sent before
 * the client's preface arrives, waits for the other side.
 */
#define SNIFF_MAX	(16 * 1024)
/* Joined mid-stream, a start line or a frame boundary may come later. */
#define MIDSTREAM_MAX	(256 * 1024)
#define MAX_SEGS	4096
#define SCAN_LINE	8192

/* Arrival order of the bytes held while sniffing, so they are replayed as they came. */
struct seg {
	int dir;
	size_t len;
	uint64_t ts;
};

struct httpdec {
	struct http_sink s;
	const struct http_parser *parser;	/* NULL while sniffing */
	void *ps;				/* the parser's state */
	bool midstream;
	bool closed;
	struct http_buf pre[2];
	size_t scanned[2];	/* midstream: no match starts before this */
	struct http_scan_wait wait[2];
	size_t last_len[2];	/* pre[i].len at the last scan */
	struct seg *segs;
	size_t nsegs, cap_segs;
};

enum verdict { V_MORE, V_GARBAGE, V_H1_CLIENT, V_H1_SERVER, V_H2_CLIENT, V_H2_SERVER };

static void refused(struct mem_account *a)
{
	struct http_sink *s = (struct http_sink *)((char *)a - offsetof(struct http_sink, mem));

	s->over_budget = true;
	http_stop(s, HN_MEMORY, "memory budget (--max-memory) reached: no longer decoding this connection");
}

int httpdec_new(struct httpdec **dp, const struct httpdec_callbacks *cb, void *ctx,
		const struct httpdec_limits *lim, bool joined_midstream)
{
	struct httpdec *d;
	int d_;

	if (!dp || !cb)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->s.mem.budget = lim ? lim->budget : NULL;
	/* The decoder itself counts too: 65536 idle ones are not free either. */
	if (mem_account_charge(&d->s.mem, MEM_COST(sizeof(*d)))) {
		free(d);
		return -ENOBUFS;
	}
	d->s.mem.refused = refused;
	d->s.cb = *cb;
	d->s.ctx = ctx;
	d->s.lim.max_header_bytes = lim && lim->max_header_bytes ? lim->max_header_bytes : 64 * 1024;
	d->s.lim.max_headers = lim && lim->max_headers ? lim->max_headers : 100;
	d->s.lim.body_preview = lim && lim->body_preview ? lim->body_preview : 256;
	/* Header bytes kept across all open exchanges of the connection. */
	d->s.hdr_budget = 16 * d->s.lim.max_header_bytes;
	d->midstream = joined_midstream;
	for (d_ = 0; d_ < 2; d_++)
		http_buf_init(&d->pre[d_], joined_midstream ? MIDSTREAM_MAX : SNIFF_MAX, &d->s.mem);
	*dp = d;
	return 0;
}

static void sniff_free(struct httpdec *d)
{
	http_buf_free(&d->pre[0]);
	http_buf_free(&d->pre[1]);
	mem_free(&d->s.mem, d->segs);
	d->segs = NULL;
	d->nsegs = d->cap_segs = 0;
}

static void not_http(struct httpdec *d, const char *why)
{
	sniff_free(d);
	http_stop(&d->s, HN_NOT_HTTP, "not HTTP: passing through%s", why);
}

static int add_seg(struct httpdec *d, int dir, size_t len, uint64_t ts)
{
	struct seg *s;

	if (d->nsegs && d->segs[d->nsegs - 1].dir == dir && d->segs[d->nsegs - 1].ts == ts) {
		d->segs[d->nsegs - 1].len += len;
		return 0;
	}
	if (d->nsegs == MAX_SEGS)
		return -E2BIG;
	if (d->nsegs == d->cap_segs) {
		size_t cap = d->cap_segs ? d->cap_segs * 2 : 16;

		s = mem_realloc(&d->s.mem, d->segs, cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		d->segs = s;
		d->cap_segs = cap;
	}
	d->segs[d->nsegs++] = (struct seg){ .dir = dir, .len = len, .ts = ts };
	return 0;
}

static bool method_char(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
}

/* What the first bytes of one direction say, from the start of its stream. */
static enum verdict classify(const uint8_t *p, size_t n)
{
	static const uint8_t settings_hdr[9] = { 0, 0, 0, H2_SETTINGS, 0, 0, 0, 0, 0 };
	struct h2_fh h;
	size_t i, k;

	if (!n)
		return V_MORE;
	k = n < H2_PREFACE_LEN ? n : H2_PREFACE_LEN;
	if (!memcmp(p, h2_preface, k))
		return n >= H2_PREFACE_LEN ? V_H2_CLIENT : V_MORE;
	k = n < 7 ? n : 7;
	if (!memcmp(p, "HTTP/1.", k))
		return n >= 7 ? V_H1_SERVER : V_MORE;
	for (i = 0; i < n && i < 32 && method_char(p[i]); i++)
		;
	if (i && i < n && p[i] == ' ')
		return V_H1_CLIENT;
	if (i == n && i < 32)
		return V_MORE;
	/* An HTTP/2 server may send its SETTINGS before it reads the client's preface. */
	if (n < H2_FRAME_HDR) {
		for (i = 0; i < n; i++)
			if (i != 1 && i != 2 && p[i] != settings_hdr[i])
				return V_GARBAGE;
		return V_MORE;
	}
	h2_fh_parse(p, &h);
	if (h.type == H2_SETTINGS && !h.flags && !h.sid && !h.reserved && h.len % 6 == 0 &&
	    h.len <= H2_DEFAULT_MAX_FRAME)
		return V_H2_SERVER;
	return V_GARBAGE;
}

/* The decision is made: everything held goes to the chosen parser in arrival order. */
static void start(struct httpdec *d, const struct http_parser *parser, int client_dir,
		  bool midstream)
{
	size_t pos[2] = { 0, 0 }, i;

	if (parser->create(&d->ps, &d->s, client_dir, midstream)) {
		not_http(d, " (out of memory)");
		return;
	}
	d->parser = parser;
	for (i = 0; i < d->nsegs && !d->s.stopped; i++) {
		const struct seg *sg = &d->segs[i];

		parser->feed(d->ps, sg->dir, d->pre[sg->dir].p + pos[sg->dir], sg->len, sg->ts);
		pos[sg->dir] += sg->len;
	}
	sniff_free(d);
}

static void decide_from_start(struct httpdec *d)
{
	enum verdict v[2];
	int i;

	for (i = 0; i < 2; i++)
		v[i] = classify(d->pre[i].p, d->pre[i].len);
	/* The side that sends a request line or the client preface is the client. */
	for (i = 0; i < 2; i++) {
		if (v[i] == V_H2_CLIENT) {
			start(d, &http2_parser, i, false);
			return;
		}
	}
	for (i = 0; i < 2; i++) {
		if (v[i] == V_H1_CLIENT || v[i] == V_H1_SERVER) {
			start(d, &http1_parser, v[i] == V_H1_CLIENT ? i : !i, false);
			return;
		}
	}
	if (v[0] == V_GARBAGE || v[1] == V_GARBAGE)
		not_http(d, "");
}

/* Joined mid-stream: the first start line or frame boundary in either direction decides. */
static void decide_midstream(struct httpdec *d, bool at_end)
{
	size_t off;
	int i, kind;

	for (i = 0; i < 2; i++) {
		/* Joined exactly at the start after all. */
		if (classify(d->pre[i].p, d->pre[i].len) == V_H2_CLIENT) {
			start(d, &http2_parser, i, false);
			return;
		}
	}
	for (i = 0; i < 2; i++) {
		struct http_buf *b = &d->pre[i];

		if (d->scanned[i] >= b->len)
			continue;
		/* Bytes trickling in are not rescanned until the open candidate can be judged. */
		if (!at_end && !http_scan_worth(&d->wait[i], b->len - d->scanned[i],
						b->p + d->last_len[i], b->len - d->last_len[i]))
			continue;
		d->last_len[i] = b->len;
		kind = http_scan(b->p + d->scanned[i], b->len - d->scanned[i],
				 HS_REQ | HS_RESP | HS_H2, at_end, SCAN_LINE, &off, &d->wait[i],
				 &d->s.work);
		d->scanned[i] += off;
		if (kind) {
			if (kind == HS_H2)
				start(d, &http2_parser, -1, true);
			else
				start(d, &http1_parser, kind == HS_REQ ? i : !i, true);
			return;
		}
	}
}

static void sniff(struct httpdec *d, int dir, const uint8_t *p, size_t n, uint64_t ts)
{
	int err;

	err = http_buf_append(&d->pre[dir], p, n, ts);
	if (!err)
		err = add_seg(d, dir, n, ts);
	if (err) {
		not_http(d, d->midstream ? " (no start line or frame found after a mid-stream join)" : "");
		return;
	}
	if (d->midstream)
		decide_midstream(d, false);
	else
		decide_from_start(d);
}

void httpdec_feed(struct httpdec *d, int dir, const uint8_t *data, size_t len, uint64_t ts_ns)
{
	if (!d || d->closed || d->s.stopped || !len || !data || dir < 0 || dir > 1)
		return;
	if (!d->parser)
		sniff(d, dir, data, len, ts_ns);
	else
		d->parser->feed(d->ps, dir, data, len, ts_ns);
}

/* Forgets what one direction held while sniffing: bytes across a hole cannot be read as one. */
static void sniff_drop_dir(struct httpdec *d, int dir)
{
	size_t i, j;

	for (i = 0, j = 0; i < d->nsegs; i++)
		if (d->segs[i].dir != dir)
			d->segs[j++] = d->segs[i];
	d->nsegs = j;
	http_buf_reset(&d->pre[dir]);
	d->scanned[dir] = d->last_len[dir] = 0;
	memset(&d->wait[dir], 0, sizeof(d->wait[dir]));
}

void httpdec_gap(struct httpdec *d, int dir, uint64_t len)
{
	if (!d || d->closed || d->s.stopped || !len || dir < 0 || dir > 1)
		return;
	if (d->parser) {
		d->parser->gap(d->ps, dir, len);
	} else {
		sniff_drop_dir(d, dir);
		if (!d->midstream) {
			d->midstream = true;
			d->pre[0].max = d->pre[1].max = MIDSTREAM_MAX;
		}
	}
}

void httpdec_close(struct httpdec *d, uint64_t ts_ns)
{
	if (!d || d->closed)
		return;
	if (!d->parser && d->midstream && !d->s.stopped)
		decide_midstream(d, true);
	if (d->parser)
		d->parser->close(d->ps, ts_ns);
	d->closed = true;
}

void httpdec_free(struct httpdec *d)
{
	if (!d)
		return;
	if (d->parser)
		d->parser->free(d->ps);
	sniff_free(d);
	mem_account_release(&d->s.mem, MEM_COST(sizeof(*d)));
	free(d);
}

void httpdec_abort(struct httpdec *d)
{
	/* Also after a stop: one for lack of memory leaves exchanges under way behind. */
	if (!d || d->closed)
		return;
	if (d->parser)
		d->parser->abort(d->ps);
	d->s.stopped = true;
}

size_t httpdec_mem(const struct httpdec *d)
{
	return d ? d->s.mem.used : 0;
}

bool httpdec_over_budget(const struct httpdec *d)
{
	return d && d->s.over_budget;
}

uint64_t httpdec_work(const struct httpdec *d)
{
	return d ? d->s.work : 0;
}

bool httpdec_is_http(const struct httpdec *d)
{
	return d && !d->s.stopped;
}
