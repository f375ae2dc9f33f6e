/* HTTP/1.x decoding of one connection: requests and responses per direction, paired in order. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "http1.h"
#include "http1_line.h"
#include "http_buf.h"
#include "http_resync.h"
#include "http_scan.h"

/* Requests sent ahead of their responses (pipelining) that we follow at most. */
#define MAX_QUEUE	1024
/* Bytes kept while looking for a start line after a join or a gap. */
#define RESYNC_WINDOW	(64 * 1024)
#define RESYNC_LINE	8192

enum h1_state {
	S_START,		/* start line (empty lines before it are skipped) */
	S_HEADERS,
	S_BODY,			/* Content-Length: left bytes */
	S_CHUNK_SIZE,
	S_CHUNK_DATA,
	S_CHUNK_CRLF,
	S_TRAILERS,
	S_UNTIL_CLOSE,
	S_RESYNC,		/* looking for a start line */
};

struct h1_side {
	enum h1_state st;
	bool is_req;
	struct http_buf line;	/* the line being read */
	struct http_buf field;	/* the last field line, held back for obs-fold */
	struct http_resync rs;	/* S_RESYNC: looking for a start line */
	struct h1 *h;
	struct http_xchg *x;	/* the exchange of the message being read */
	uint64_t left;
	/* Framing of the current message, from its header fields. */
	bool interim;		/* 1xx other than 101: headers, then another status line */
	bool te, te_chunked, has_len;
	uint64_t clen;
	char upgrade[32];
	int status;
	bool head_req, connect_req;	/* the request this response answers, kept if x goes */
	bool tentative;		/* first message after a resync: an error means resync again */
	size_t method_len;	/* S_START request: tchars checked so far; SIZE_MAX: the space came */
};

struct h1 {
	struct http_sink *s;
	int client_dir;
	struct h1_side side[2];		/* by direction */
	struct http_xchg *head, *tail;	/* in request order */
	size_t nq;
	/* After a resync the next response pairs with the latest request only. */
	bool pair_latest;
};

static void side_reset_message(struct h1_side *sd)
{
	sd->x = NULL;
	sd->left = 0;
	sd->interim = sd->te = sd->te_chunked = sd->has_len = false;
	sd->clen = 0;
	sd->upgrade[0] = '\0';
	sd->status = 0;
	sd->head_req = sd->connect_req = false;
	http_buf_reset(&sd->line);
	http_buf_reset(&sd->field);
}

int h1_new(struct h1 **hp, struct http_sink *s, int client_dir, bool resync)
{
	struct h1 *h = mem_calloc(&s->mem, 1, sizeof(*h));
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
		http_resync_init(&sd->rs, sd->is_req ? HS_REQ : HS_RESP, RESYNC_WINDOW,
				 s->lim.max_header_bytes < RESYNC_LINE ? s->lim.max_header_bytes : RESYNC_LINE,
				 &s->mem, &s->work);
		sd->h = h;
		sd->st = resync ? S_RESYNC : S_START;
	}
	if (resync) {
		h->pair_latest = true;
		http_note(s, HN_H1_RESYNC, "HTTP/1 joined mid-stream: decoding from the first start line");
	}
	*hp = h;
	return 0;
}

static void unlink_head(struct h1 *h)
{
	struct http_xchg *x = h->head;

	h->head = x->next;
	if (!h->head)
		h->tail = NULL;
	h->nq--;
}

/* Reports finished exchanges from the head, in request order. */
static void emit_ready(struct h1 *h)
{
	struct http_xchg *x;

	while ((x = h->head) && x->req_done && x->resp_done) {
		unlink_head(h);
		/* The other side may still be reading a message of it (an abandoned request's response). */
		if (h->side[0].x == x)
			h->side[0].x = NULL;
		if (h->side[1].x == x)
			h->side[1].x = NULL;
		http_xchg_emit(h->s, x);
		http_xchg_free(h->s, x);
	}
}

/* Everything queued, reported as it stands; the sides forget their messages. */
static void flush_all(struct h1 *h)
{
	struct http_xchg *x;
	int d;

	while ((x = h->head)) {
		unlink_head(h);
		http_xchg_emit(h->s, x);
		http_xchg_free(h->s, x);
	}
	for (d = 0; d < 2; d++)
		side_reset_message(&h->side[d]);
}

static void invalid(struct h1 *h, struct h1_side *sd, const char *why)
{
	if (sd->tentative) {
		/* What looked like a start line was body bytes: look again. */
		if (sd->x && sd->is_req) {
			sd->x->drop = true;
			sd->x->req_done = sd->x->resp_done = true;
		} else if (sd->x) {
			/* The request it was paired with waits for the real response. */
			http_xchg_clear_response(h->s, sd->x);
			h->pair_latest = true;
		}
		side_reset_message(sd);
		sd->st = S_RESYNC;
		emit_ready(h);
		return;
	}
	flush_all(h);
	http_stop(h->s, HN_NOT_HTTP, "not HTTP: passing through (%s)", why);
}

static struct http_xchg *enqueue(struct h1 *h, const char *proto)
{
	struct http_xchg *x;

	if (h->nq >= MAX_QUEUE) {
		flush_all(h);
		http_stop(h->s, HN_LIMIT, "over %d HTTP/1 requests awaiting responses: no longer decoding",
			  MAX_QUEUE);
		return NULL;
	}
	x = http_xchg_new(h->s, proto, h->client_dir);
	if (!x) {
		flush_all(h);
		http_stop(h->s, HN_LIMIT, "out of memory: no longer decoding");
		return NULL;
	}
	if (h->tail)
		h->tail->next = x;
	else
		h->head = x;
	h->tail = x;
	h->nq++;
	return x;
}

/* The exchange a new final response belongs to; NULL when decoding stopped. */
static struct http_xchg *response_target(struct h1 *h, const char *proto)
{
	struct http_xchg *x, *latest = NULL;

	for (x = h->head; x; x = x->next)
		if (x->req_seen && !x->resp_seen && !x->drop)
			latest = x;
	if (h->pair_latest) {
		/*
		 * Responses to requests lost in a gap may still come; without
		 * pipelining a response answers the latest request. Older ones
		 * stay unanswered.
		 */
		h->pair_latest = false;
		for (x = h->head; x; x = x->next)
			if (x != latest && !x->resp_seen) {
				x->resp_seen = x->resp_done = true;
				x->incomplete = true;
			}
		if (latest)
			return latest;
		x = enqueue(h, proto);
		if (x) {
			x->drop = true;
			x->req_seen = x->req_done = true;
		}
		return x;
	}
	for (x = h->head; x; x = x->next)
		if (x->req_seen && !x->resp_seen && !x->drop)
			return x;
	/* A response nobody asked for (a 408 before closing, say): reported alone. */
	x = enqueue(h, proto);
	if (x) {
		x->req_seen = x->req_done = true;
		x->incomplete = true;
	}
	return x;
}

static void message_done(struct h1 *h, struct h1_side *sd, uint64_t ts)
{
	struct http_xchg *x = sd->x;

	sd->tentative = false;
	if (x) {
		if (sd->is_req) {
			x->req_done = true;
		} else {
			x->resp_done = true;
			x->end_ns = ts;
		}
	}
	side_reset_message(sd);
	sd->st = S_START;
	emit_ready(h);
}

static void lower_token(char *dst, size_t size, const char *v, size_t len)
{
	size_t i;

	for (i = 0; i < len && i + 1 < size && h1_is_tchar((unsigned char)v[i]); i++)
		dst[i] = (v[i] >= 'A' && v[i] <= 'Z') ? v[i] - 'A' + 'a' : v[i];
	dst[i] = '\0';
}

/* Content-Length: digits, or a list of equal ones. Returns 0 or -EINVAL. */
static int parse_clen(const char *v, size_t len, uint64_t *out)
{
	uint64_t n = 0, first = 0;
	bool have = false, digits = false;
	size_t i;

	for (i = 0; i <= len; i++) {
		if (i == len || v[i] == ',') {
			if (!digits || (have && n != first))
				return -EINVAL;
			first = n;
			have = true;
			n = 0;
			digits = false;
			continue;
		}
		if (v[i] == ' ' || v[i] == '\t')
			continue;
		if (v[i] < '0' || v[i] > '9' || n > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		n = n * 10 + (uint64_t)(v[i] - '0');
		digits = true;
	}
	*out = first;
	return 0;
}

/* The last coding of a Transfer-Encoding list. */
static bool last_is_chunked(const char *v, size_t len)
{
	size_t e = len, b;

	while (e && (v[e - 1] == ' ' || v[e - 1] == '\t' || v[e - 1] == ','))
		e--;
	b = e;
	while (b && v[b - 1] != ',' && v[b - 1] != ' ' && v[b - 1] != '\t')
		b--;
	return e - b == 7 && !strncasecmp(v + b, "chunked", 7);
}

/* One complete field line (folds joined). Returns 0 or -EINVAL. */
static int field_done(struct h1 *h, struct h1_side *sd, bool trailer)
{
	struct h1_field f;
	enum http_part part;

	if (!sd->field.len)
		return 0;
	if (h1_parse_field((const char *)sd->field.p, sd->field.len, &f))
		return -EINVAL;
	http_buf_reset(&sd->field);
	if (sd->interim)
		return 0;
	/* Framing fields count even when the exchange is gone: the bytes still follow them. */
	if (!trailer) {
		if (f.name_len == 14 && !strncasecmp(f.name, "content-length", 14)) {
			uint64_t n;

			if (parse_clen(f.value, f.value_len, &n) || (sd->has_len && n != sd->clen))
				return -EINVAL;
			sd->has_len = true;
			sd->clen = n;
		} else if (f.name_len == 17 && !strncasecmp(f.name, "transfer-encoding", 17)) {
			sd->te = true;
			sd->te_chunked = last_is_chunked(f.value, f.value_len);
		} else if (f.name_len == 7 && !strncasecmp(f.name, "upgrade", 7)) {
			lower_token(sd->upgrade, sizeof(sd->upgrade), f.value, f.value_len);
		}
	}
	/* Request trailers have nowhere to go in an exchange: only response ones are kept. */
	if (!sd->x || (trailer && sd->is_req))
		return 0;
	part = trailer ? HP_TRAILERS : sd->is_req ? HP_REQ : HP_RESP;
	http_xchg_header(h->s, sd->x, part, f.name, f.name_len, f.value, f.value_len);
	return 0;
}

static const char *proto_of(int minor)
{
	return minor ? "http/1.1" : "http/1.0";
}

/* No more HTTP/1 on this connection after this response: report and stop. */
static void switched(struct h1 *h, struct h1_side *sd, uint64_t ts, const char *what)
{
	struct http_xchg *x = sd->x;

	if (x) {
		x->resp_done = true;
		x->req_done = true;
		x->end_ns = ts;
	}
	emit_ready(h);
	flush_all(h);
	http_stop(h->s, HN_UPGRADED, "%s: no longer HTTP/1", what);
}

static void headers_done(struct h1 *h, struct h1_side *sd, uint64_t ts)
{
	struct http_xchg *x = sd->x;
	char what[64];

	sd->tentative = false;
	if (sd->interim) {
		/* 100 Continue, 103 Early Hints: the final response is still to come. */
		side_reset_message(sd);
		sd->st = S_START;
		return;
	}
	if (sd->is_req) {
		if (sd->te && !sd->te_chunked) {
			invalid(h, sd, "request with a transfer coding other than chunked");
			return;
		}
		if (sd->te) {
			sd->st = S_CHUNK_SIZE;
		} else if (sd->has_len && sd->clen) {
			sd->left = sd->clen;
			sd->st = S_BODY;
		} else {
			message_done(h, sd, ts);
		}
		return;
	}
	if (x)
		x->end_ns = ts;
	if (sd->status == 101) {
		snprintf(what, sizeof(what), "upgraded to %s", sd->upgrade[0] ? sd->upgrade : "another protocol");
		switched(h, sd, ts, what);
		return;
	}
	if (sd->connect_req && sd->status / 100 == 2) {
		switched(h, sd, ts, "CONNECT tunnel");
		return;
	}
	if (sd->head_req || sd->status == 204 || sd->status == 304) {
		message_done(h, sd, ts);
	} else if (sd->te && sd->te_chunked) {
		sd->st = S_CHUNK_SIZE;
	} else if (sd->te) {
		sd->st = S_UNTIL_CLOSE;
	} else if (sd->has_len) {
		sd->left = sd->clen;
		if (sd->clen)
			sd->st = S_BODY;
		else
			message_done(h, sd, ts);
	} else {
		sd->st = S_UNTIL_CLOSE;
	}
}

static void start_line(struct h1 *h, struct h1_side *sd, const char *l, size_t n)
{
	uint64_t ts0 = http_buf_ts_at(&sd->line, 0);
	struct h1_statusline st;
	struct h1_reqline rl;
	struct http_xchg *x;

	if (sd->is_req) {
		if (h1_parse_request_line(l, n, &rl)) {
			invalid(h, sd, "bad request line");
			return;
		}
		x = enqueue(h, proto_of(rl.minor));
		if (!x)
			return;
		x->req_seen = true;
		x->start_ns = x->end_ns = ts0;
		http_xchg_set(h->s, &x->method, rl.method, rl.method_len);
		http_xchg_set(h->s, &x->path, rl.target, rl.target_len);
		sd->x = x;
		sd->st = S_HEADERS;
		return;
	}
	if (h1_parse_status_line(l, n, &st)) {
		invalid(h, sd, "bad status line");
		return;
	}
	sd->status = st.status;
	sd->st = S_HEADERS;
	if (st.status / 100 == 1 && st.status != 101) {
		sd->interim = true;
		return;
	}
	x = response_target(h, proto_of(st.minor));
	if (!x)
		return;
	x->resp_seen = true;
	x->status = st.status;
	sd->head_req = x->method && !strcmp(x->method, "HEAD");
	sd->connect_req = x->method && !strcmp(x->method, "CONNECT");
	if (!x->start_ns)
		x->start_ns = ts0;
	sd->x = x;
}

static int chunk_size(const char *l, size_t n, uint64_t *size)
{
	uint64_t v = 0;
	size_t i;
	int d;

	for (i = 0; i < n; i++) {
		char c = l[i];

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			break;
		if (v >> 59)
			return -EINVAL;
		v = v << 4 | (uint64_t)d;
	}
	if (!i)
		return -EINVAL;
	/* Chunk extensions (";name=value") and whitespace before them are ignored. */
	if (i < n && l[i] != ';' && l[i] != ' ' && l[i] != '\t')
		return -EINVAL;
	*size = v;
	return 0;
}

/* A complete line (without CRLF) in the current state. */
static void line_done(struct h1 *h, struct h1_side *sd, const char *l, size_t n, uint64_t ts)
{
	uint64_t size;

	switch (sd->st) {
	case S_START:
		if (n)
			start_line(h, sd, l, n);
		break;
	case S_HEADERS:
	case S_TRAILERS:
		if (n && (l[0] == ' ' || l[0] == '\t')) {
			size_t ws = 0;

			/* obs-fold: the value goes on after one space (RFC 9112 5.2). */
			while (ws < n && (l[ws] == ' ' || l[ws] == '\t'))
				ws++;
			if (!sd->field.len || http_buf_append(&sd->field, (const uint8_t *)" ", 1, ts) ||
			    http_buf_append(&sd->field, (const uint8_t *)l + ws, n - ws, ts)) {
				invalid(h, sd, "bad header continuation");
				return;
			}
			break;
		}
		if (field_done(h, sd, sd->st == S_TRAILERS)) {
			invalid(h, sd, "bad header field");
			return;
		}
		if (n) {
			if (http_buf_append(&sd->field, (const uint8_t *)l, n, ts))
				invalid(h, sd, "header field too long");
			break;
		}
		if (sd->st == S_HEADERS)
			headers_done(h, sd, ts);
		else
			message_done(h, sd, ts);
		break;
	case S_CHUNK_SIZE:
		if (chunk_size(l, n, &size)) {
			invalid(h, sd, "bad chunk size");
			return;
		}
		if (size) {
			sd->left = size;
			sd->st = S_CHUNK_DATA;
		} else {
			sd->st = S_TRAILERS;
		}
		break;
	case S_CHUNK_CRLF:
		if (n) {
			invalid(h, sd, "chunk not followed by CRLF");
			return;
		}
		sd->st = S_CHUNK_SIZE;
		break;
	default:
		break;
	}
}

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

/* Parses until the input is used up, decoding stops, or the side must resync. Returns bytes used. */
static size_t side_run(struct h1 *h, struct h1_side *sd, const uint8_t *p, size_t n, uint64_t ts)
{
	const uint8_t *lf;
	size_t k, used = 0, len;

	while (used < n && !h->s->stopped && sd->st != S_RESYNC) {
		switch (sd->st) {
		case S_BODY:
		case S_CHUNK_DATA:
			k = n - used < sd->left ? n - used : (size_t)sd->left;
			if (sd->x) {
				http_xchg_body(h->s, sd->x, !sd->is_req, p + used, k);
				if (!sd->is_req)
					sd->x->end_ns = ts;
			}
			sd->left -= k;
			used += k;
			if (!sd->left) {
				if (sd->st == S_BODY)
					message_done(h, sd, ts);
				else
					sd->st = S_CHUNK_CRLF;
			}
			break;
		case S_UNTIL_CLOSE:
			if (sd->x) {
				http_xchg_body(h->s, sd->x, 1, p + used, n - used);
				sd->x->end_ns = ts;
			}
			used = n;
			break;
		default:
			lf = memchr(p + used, '\n', n - used);
			k = lf ? (size_t)(lf - (p + used)) + 1 : n - used;
			h->s->work += k;
			if (http_buf_append(&sd->line, p + used, k, ts)) {
				invalid(h, sd, "line too long");
				break;
			}
			used += k;
			/* Binary bytes never belong to a line: say so now, not at some later LF. */
			if (!line_prefix_ok(sd, sd->line.len - k)) {
				http_buf_reset(&sd->line);
				invalid(h, sd, "binary data where a line was expected");
				break;
			}
			if (lf) {
				len = sd->line.len - 1;
				if (len && sd->line.p[len - 1] == '\r')
					len--;
				line_done(h, sd, (const char *)sd->line.p, len, ts);
				http_buf_reset(&sd->line);
			}
			break;
		}
	}
	return used;
}

static size_t op_run(void *arg, const uint8_t *p, size_t n, uint64_t ts)
{
	struct h1_side *sd = arg;

	return side_run(sd->h, sd, p, n, ts);
}

static bool op_lost(void *arg)
{
	return ((struct h1_side *)arg)->st == S_RESYNC;
}

static bool op_stopped(void *arg)
{
	return ((struct h1_side *)arg)->h->s->stopped;
}

static void op_found(void *arg, int kind)
{
	struct h1_side *sd = arg;

	sd->st = S_START;
	sd->tentative = true;
	if (!sd->is_req)
		sd->h->pair_latest = true;
}

static const struct http_resync_ops resync_ops = {
	.run = op_run, .lost = op_lost, .stopped = op_stopped, .found = op_found,
};

void h1_feed(struct h1 *h, int dir, const uint8_t *p, size_t n, uint64_t ts)
{
	if (h->s->stopped || dir < 0 || dir > 1)
		return;
	http_resync_feed(&h->side[dir].rs, &resync_ops, &h->side[dir], p, n, ts);
}

void h1_gap(struct h1 *h, int dir, uint64_t len)
{
	struct h1_side *sd;
	int d;

	if (h->s->stopped || dir < 0 || dir > 1 || !len)
		return;
	sd = &h->side[dir];
	switch (sd->st) {
	case S_BODY:
	case S_CHUNK_DATA:
		if (len > sd->left)
			break;
		/* A hole inside a body of known length: framing survives. */
		if (sd->x)
			http_xchg_body_gap(sd->x, !sd->is_req, len);
		sd->left -= len;
		if (!sd->left) {
			if (sd->st == S_BODY) {
				message_done(h, sd, sd->x ? sd->x->end_ns : 0);
			} else {
				sd->st = S_CHUNK_CRLF;
			}
		}
		return;
	case S_UNTIL_CLOSE:
		if (sd->x)
			http_xchg_body_gap(sd->x, 1, len);
		return;
	case S_RESYNC:
		/* Bytes on both sides of the hole must not make one start line. */
		http_resync_reset(&sd->rs);
		return;
	default:
		break;
	}
	http_note(h->s, HN_GAP, "gap of %llu bytes: HTTP/1 sync lost, resuming at the next start line",
		  (unsigned long long)len);
	for (d = 0; d < 2; d++) {
		struct h1_side *o = &h->side[d];

		/* The other side, between messages, is still in step. */
		if (o != sd && o->st == S_START && !o->line.len)
			continue;
		/* A message cut here ends here; a request may still get its response. */
		if (o->x) {
			o->x->incomplete = true;
			if (o->is_req)
				o->x->req_done = true;
			else
				o->x->resp_done = true;
		}
		side_reset_message(o);
		http_resync_reset(&o->rs);
		o->st = S_RESYNC;
	}
	h->pair_latest = true;
	emit_ready(h);
}

void h1_close(struct h1 *h, uint64_t ts)
{
	struct h1_side *sd = &h->side[!h->client_dir];

	if (h->s->stopped)
		return;
	/* A body that runs until the close is complete now; its end is its last byte. */
	if (sd->st == S_UNTIL_CLOSE && sd->x)
		sd->x->resp_done = true;
	flush_all(h);
}

void h1_abort(struct h1 *h)
{
	flush_all(h);
}

void h1_free(struct h1 *h)
{
	struct http_xchg *x;
	int d;

	if (!h)
		return;
	while ((x = h->head)) {
		unlink_head(h);
		http_xchg_free(h->s, x);
	}
	for (d = 0; d < 2; d++) {
		http_buf_free(&h->side[d].line);
		http_buf_free(&h->side[d].field);
		http_resync_free(&h->side[d].rs);
	}
	mem_free(&h->s->mem, h);
}
