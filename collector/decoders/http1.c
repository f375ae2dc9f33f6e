/* HTTP/1.x decoding of one connection: the parser's entry points and its byte loop (lines, bodies, gaps). */
#include <errno.h>
#include <string.h>
#include "http1.h"
#include "http1_line.h"
#include "http_parser.h"
#include "http_scan.h"

/* The longest start line a resync scan accepts. */
#define RESYNC_LINE	8192

/*
 * Whether the line read so far (new bytes from 'from') can still become a
 * valid one. Only the new bytes are looked at: a line arriving one byte
 * per record must not be rescanned from its start each time.
 */
static bool line_prefix_ok(struct h1_side *sd, size_t from)
{
	static const char http[] = "HTTP/1.";
	const uint8_t *l = sd->line.p;
	size_t n = sd->line.len, i;

	if (!from)
		sd->method_len = 0;
	sd->h->s->work += n - from;
	for (i = from; i < n; i++)
		if ((l[i] < ' ' && l[i] != '\t' && l[i] != '\r' && l[i] != '\n') || l[i] == 0x7f)
			return false;
	if (sd->st != S_START || !n || l[0] == '\r' || l[0] == '\n')
		return true;
	if (!sd->is_req) {
		for (i = from; i < n && i < 7; i++)
			if (l[i] != (uint8_t)http[i])
				return false;
		return true;
	}
	/* A method (tchars) then a space; past the space anything printable goes. */
	if (sd->method_len == SIZE_MAX)
		return true;
	for (i = sd->method_len; i < n && h1_is_tchar(l[i]); i++)
		;
	sd->h->s->work += i - sd->method_len;
	if (i == n) {
		sd->method_len = n;
		return true;
	}
	if (!i || l[i] != ' ')
		return false;
	sd->method_len = SIZE_MAX;
	return true;
}

/* Line bytes up to the next LF, or all of p. Returns the bytes used. */
static size_t line_bytes(struct h1 *h, struct h1_side *sd, const uint8_t *p, size_t n, uint64_t ts)
{
	const uint8_t *lf = memchr(p, '\n', n);
	size_t k = lf ? (size_t)(lf - p) + 1 : n, len;

	h->s->work += k;
	if (http_buf_append(&sd->line, p, k, ts)) {
		h1_invalid(h, sd, "line too long");
		return 0;
	}
	/* Binary bytes never belong to a line: say so now, not at some later LF. */
	if (!line_prefix_ok(sd, sd->line.len - k)) {
		http_buf_reset(&sd->line);
		h1_invalid(h, sd, "binary data where a line was expected");
		return k;
	}
	if (lf) {
		len = sd->line.len - 1;
		if (len && sd->line.p[len - 1] == '\r')
			len--;
		h1_line_done(h, sd, (const char *)sd->line.p, len, ts);
		http_buf_reset(&sd->line);
	}
	return k;
}

/* Body bytes of a message of known length or of a chunk. Returns the bytes used. */
static size_t framed_body(struct h1 *h, struct h1_side *sd, const uint8_t *p, size_t n, uint64_t ts)
{
	size_t k = n < sd->left ? n : (size_t)sd->left;

	if (sd->x) {
		http_xchg_body(h->s, sd->x, !sd->is_req, p, k);
		if (!sd->is_req)
			sd->x->end_ns = ts;
	}
	sd->left -= k;
	if (!sd->left) {
		if (sd->st == S_BODY)
			h1_message_done(h, sd, ts);
		else
			sd->st = S_CHUNK_CRLF;
	}
	return k;
}

/* Parses until the input is used up, decoding stops, or the side must resync. Returns bytes used. */
static size_t side_run(void *arg, const uint8_t *p, size_t n, uint64_t ts)
{
	struct h1_side *sd = arg;
	struct h1 *h = sd->h;
	size_t used = 0;

	while (used < n && !h->s->stopped && !sd->rs.lost) {
		switch (sd->st) {
		case S_BODY:
		case S_CHUNK_DATA:
			used += framed_body(h, sd, p + used, n - used, ts);
			break;
		case S_UNTIL_CLOSE:
			if (sd->x) {
				http_xchg_body(h->s, sd->x, 1, p + used, n - used);
				sd->x->end_ns = ts;
			}
			used = n;
			break;
		default:
			used += line_bytes(h, sd, p + used, n - used, ts);
			break;
		}
	}
	return used;
}

/* A resync found a start line: the first message after it may turn out not to be one. */
static void side_found(void *arg, int kind)
{
	struct h1_side *sd = arg;

	sd->st = S_START;
	sd->tentative = true;
	if (!sd->is_req)
		sd->h->pair_latest = true;
}

static const struct http_resync_ops resync_ops = { .run = side_run, .found = side_found };

static int h1_create(void **hp, struct http_sink *s, int client_dir, bool midstream)
{
	struct h1 *h = mem_calloc(&s->mem, 1, sizeof(*h));
	size_t max_line = s->lim.max_header_bytes < RESYNC_LINE ? s->lim.max_header_bytes : RESYNC_LINE;
	int d;

	if (!h)
		return -ENOMEM;
	h->s = s;
	h->client_dir = client_dir;
	for (d = 0; d < 2; d++) {
		struct h1_side *sd = &h->side[d];

		sd->is_req = d == client_dir;
		/* A line can hold a whole header section's worth, never more. */
		http_buf_init(&sd->line, s->lim.max_header_bytes + 2, &s->mem);
		http_buf_init(&sd->field, s->lim.max_header_bytes + 2, &s->mem);
		http_resync_init(&sd->rs, s, sd->is_req ? HS_REQ : HS_RESP, max_line, &resync_ops, sd);
		sd->h = h;
		sd->st = S_START;
		sd->rs.lost = midstream;
	}
	if (midstream) {
		h->pair_latest = true;
		http_note(s, HN_H1_RESYNC, "HTTP/1 joined mid-stream: decoding from the first start line");
	}
	*hp = h;
	return 0;
}

static void h1_feed(void *arg, int dir, const uint8_t *p, size_t n, uint64_t ts)
{
	http_resync_feed(&((struct h1 *)arg)->side[dir].rs, p, n, ts);
}

/* A hole inside a body of known length or one running until the close. Returns whether framing survives. */
static bool body_gap(struct h1 *h, struct h1_side *sd, uint64_t len)
{
	if (sd->st == S_UNTIL_CLOSE) {
		if (sd->x)
			http_xchg_body_gap(sd->x, 1, len);
		return true;
	}
	if ((sd->st != S_BODY && sd->st != S_CHUNK_DATA) || len > sd->left)
		return false;
	if (sd->x)
		http_xchg_body_gap(sd->x, !sd->is_req, len);
	sd->left -= len;
	if (!sd->left) {
		if (sd->st == S_BODY)
			h1_message_done(h, sd, sd->x ? sd->x->end_ns : 0);
		else
			sd->st = S_CHUNK_CRLF;
	}
	return true;
}

static void h1_gap(void *arg, int dir, uint64_t len)
{
	struct h1 *h = arg;
	struct h1_side *sd = &h->side[dir];
	int d;

	if (sd->rs.lost) {
		/* Bytes on both sides of the hole must not make one start line. */
		http_resync_reset(&sd->rs);
		return;
	}
	if (body_gap(h, sd, len))
		return;
	http_note(h->s, HN_GAP, "gap of %llu bytes: HTTP/1 sync lost, resuming at the next start line",
		  (unsigned long long)len);
	for (d = 0; d < 2; d++) {
		struct h1_side *o = &h->side[d];

		/* The other side, between messages, is still in step. */
		if (o != sd && !o->rs.lost && o->st == S_START && !o->line.len)
			continue;
		/* A message cut here ends here; a request may still get its response. */
		if (o->x) {
			o->x->incomplete = true;
			if (o->is_req)
				o->x->req_done = true;
			else
				o->x->resp_done = true;
		}
		h1_side_reset_message(o);
		http_resync_reset(&o->rs);
		o->st = S_START;
		o->rs.lost = true;
	}
	h->pair_latest = true;
	h1_orphan_early(h);
	h1_emit_ready(h);
}

static void h1_close(void *arg, uint64_t ts)
{
	struct h1 *h = arg;
	struct h1_side *sd = &h->side[!h->client_dir];

	if (h->s->stopped)
		return;
	/* A body that runs until the close is complete now; its end is its last byte. */
	if (sd->st == S_UNTIL_CLOSE && sd->x)
		sd->x->resp_done = true;
	h1_flush_all(h);
}

static void h1_abort(void *arg)
{
	h1_flush_all(arg);
}

static void h1_free(void *arg)
{
	struct h1 *h = arg;
	int d;

	h1_queue_free(h);
	for (d = 0; d < 2; d++) {
		http_buf_free(&h->side[d].line);
		http_buf_free(&h->side[d].field);
		http_resync_free(&h->side[d].rs);
	}
	mem_free(&h->s->mem, h);
}

const struct http_parser http1_parser = {
	.create = h1_create, .feed = h1_feed, .gap = h1_gap, .close = h1_close,
	.abort = h1_abort, .free = h1_free,
};
