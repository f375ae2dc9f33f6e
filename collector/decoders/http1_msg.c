/* One HTTP/1 message, line by line: start line, header fields and the framing they set, chunk lines, trailers. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "http1.h"
#include "http1_line.h"

void h1_side_reset_message(struct h1_side *sd)
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

void h1_invalid(struct h1 *h, struct h1_side *sd, const char *why)
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
		h1_side_reset_message(sd);
		sd->st = S_START;
		sd->rs.lost = true;
		h1_emit_ready(h);
		return;
	}
	h1_flush_all(h);
	http_stop(h->s, HN_NOT_HTTP, "not HTTP: passing through (%s)", why);
}

void h1_message_done(struct h1 *h, struct h1_side *sd, uint64_t ts)
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
	h1_side_reset_message(sd);
	sd->st = S_START;
	h1_emit_ready(h);
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

			if (h1_parse_content_length(f.value, f.value_len, &n) ||
			    (sd->has_len && n != sd->clen))
				return -EINVAL;
			sd->has_len = true;
			sd->clen = n;
		} else if (f.name_len == 17 && !strncasecmp(f.name, "transfer-encoding", 17)) {
			sd->te = true;
			sd->te_chunked = h1_last_coding_is_chunked(f.value, f.value_len);
		} else if (f.name_len == 7 && !strncasecmp(f.name, "upgrade", 7)) {
			h1_lower_token(sd->upgrade, sizeof(sd->upgrade), f.value, f.value_len);
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
		/* Read back before its request: that request is not decoded. */
		if (!x->req_seen)
			x->incomplete = true;
		x->resp_done = true;
		x->req_done = true;
		x->end_ns = ts;
	}
	h1_emit_ready(h);
	h1_flush_all(h);
	http_stop(h->s, HN_UPGRADED, "%s: no longer HTTP/1", what);
}

/* A request's body framing: chunked, a length, or none. */
static void request_body(struct h1 *h, struct h1_side *sd, uint64_t ts)
{
	if (sd->te && !sd->te_chunked) {
		h1_invalid(h, sd, "request with a transfer coding other than chunked");
		return;
	}
	if (sd->te) {
		sd->st = S_CHUNK_SIZE;
	} else if (sd->has_len && sd->clen) {
		sd->left = sd->clen;
		sd->st = S_BODY;
	} else {
		h1_message_done(h, sd, ts);
	}
}

static void headers_done(struct h1 *h, struct h1_side *sd, uint64_t ts)
{
	struct http_xchg *x = sd->x;
	char what[64];

	sd->tentative = false;
	if (sd->interim) {
		/* 100 Continue, 103 Early Hints: the final response is still to come. */
		h1_side_reset_message(sd);
		sd->st = S_START;
		return;
	}
	if (sd->is_req) {
		request_body(h, sd, ts);
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
		h1_message_done(h, sd, ts);
	} else if (sd->te && sd->te_chunked) {
		sd->st = S_CHUNK_SIZE;
	} else if (sd->te) {
		sd->st = S_UNTIL_CLOSE;
	} else if (sd->has_len) {
		sd->left = sd->clen;
		if (sd->clen)
			sd->st = S_BODY;
		else
			h1_message_done(h, sd, ts);
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
			h1_invalid(h, sd, "bad request line");
			return;
		}
		x = h1_request_target(h, proto_of(rl.minor));
		if (!x)
			return;
		x->req_seen = true;
		x->proto = proto_of(rl.minor);
		if (x->resp_seen) {
			/* Its response came first: the exchange began with whichever did. */
			if (ts0 < x->start_ns)
				x->start_ns = ts0;
		} else {
			x->start_ns = x->end_ns = ts0;
		}
		http_xchg_set(h->s, &x->method, rl.method, rl.method_len);
		http_xchg_set(h->s, &x->path, rl.target, rl.target_len);
		sd->x = x;
		sd->st = S_HEADERS;
		return;
	}
	if (h1_parse_status_line(l, n, &st)) {
		h1_invalid(h, sd, "bad status line");
		return;
	}
	sd->status = st.status;
	sd->st = S_HEADERS;
	if (st.status / 100 == 1 && st.status != 101) {
		sd->interim = true;
		return;
	}
	x = h1_response_target(h, proto_of(st.minor));
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

/* A line of the header section or the trailers: a field, a fold of the last one, or the end. */
static void field_line(struct h1 *h, struct h1_side *sd, const char *l, size_t n, uint64_t ts)
{
	if (n && (l[0] == ' ' || l[0] == '\t')) {
		size_t ws = 0;

		/* obs-fold: the value goes on after one space (RFC 9112 5.2). */
		while (ws < n && (l[ws] == ' ' || l[ws] == '\t'))
			ws++;
		if (!sd->field.len || http_buf_append(&sd->field, (const uint8_t *)" ", 1, ts) ||
		    http_buf_append(&sd->field, (const uint8_t *)l + ws, n - ws, ts))
			h1_invalid(h, sd, "bad header continuation");
		return;
	}
	if (field_done(h, sd, sd->st == S_TRAILERS)) {
		h1_invalid(h, sd, "bad header field");
		return;
	}
	if (n) {
		if (http_buf_append(&sd->field, (const uint8_t *)l, n, ts))
			h1_invalid(h, sd, "header field too long");
		return;
	}
	if (sd->st == S_HEADERS)
		headers_done(h, sd, ts);
	else
		h1_message_done(h, sd, ts);
}

void h1_line_done(struct h1 *h, struct h1_side *sd, const char *l, size_t n, uint64_t ts)
{
	uint64_t size;

	switch (sd->st) {
	case S_START:
		if (n)
			start_line(h, sd, l, n);
		break;
	case S_HEADERS:
	case S_TRAILERS:
		field_line(h, sd, l, n, ts);
		break;
	case S_CHUNK_SIZE:
		if (h1_parse_chunk_size(l, n, &size)) {
			h1_invalid(h, sd, "bad chunk size");
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
			h1_invalid(h, sd, "chunk not followed by CRLF");
			return;
		}
		sd->st = S_CHUNK_SIZE;
		break;
	default:
		break;
	}
}
