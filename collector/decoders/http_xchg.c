/* What the HTTP parsers report into: exchanges being assembled (headers, bodies), notes, limits. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "http_xchg.h"

static void vnote(struct http_sink *s, enum http_note_kind k, const char *fmt, va_list ap)
{
	char line[256];

	if (s->notes & (1u << k))
		return;
	s->notes |= 1u << k;
	if (!s->cb.on_note)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	s->cb.on_note(s->ctx, line);
}

void http_report(struct http_sink *s, enum http_note_kind k, bool stop, const char *fmt, ...)
{
	va_list ap;

	/* Whatever broke after the stop (an allocation refused, say) is not news. */
	if (s->stopped)
		return;
	va_start(ap, fmt);
	vnote(s, k, fmt, ap);
	va_end(ap);
	s->stopped = stop;
}

struct http_xchg *http_xchg_new(struct http_sink *s, const char *proto, int client_dir)
{
	struct http_xchg *x = mem_calloc(&s->mem, 1, sizeof(*x));

	if (!x)
		return NULL;
	x->proto = proto;
	x->client_dir = client_dir;
	x->grpc_status = -1;
	return x;
}

static void hdrs_free(struct http_sink *s, struct http_hdrs *h)
{
	s->hdr_budget += h->used;
	mem_free(&s->mem, h->arena);
	mem_free(&s->mem, h->ent);
	memset(h, 0, sizeof(*h));
}

void http_xchg_free(struct http_sink *s, struct http_xchg *x)
{
	int i;

	if (!x)
		return;
	for (i = 0; i < 3; i++)
		hdrs_free(s, &x->hdrs[i]);
	for (i = 0; i < 2; i++)
		mem_free(&s->mem, x->body[i].prev);
	mem_free(&s->mem, x->method);
	mem_free(&s->mem, x->path);
	mem_free(&s->mem, x->authority);
	mem_free(&s->mem, x->host);
	mem_free(&s->mem, x->grpc_message);
	mem_free(&s->mem, x);
}

/*
 * Summary fields (method, path, authority...) are kept outside the header
 * budget, so each is capped: with 1000 open HTTP/2 streams that still
 * bounds them. The header list keeps the whole value when it fits.
 */
#define MAX_PICKED	8192

int http_xchg_set(struct http_sink *s, char **dst, const char *v, size_t len)
{
	char *c;

	if (len > s->lim.max_header_bytes)
		len = s->lim.max_header_bytes;
	if (len > MAX_PICKED)
		len = MAX_PICKED;
	c = mem_alloc(&s->mem, len + 1);
	if (!c)
		return -ENOMEM;
	memcpy(c, v, len);
	c[len] = '\0';
	mem_free(&s->mem, *dst);
	*dst = c;
	return 0;
}

/* Returns 0, -E2BIG (over a limit: dropped) or -ENOMEM. */
static int hdrs_add(struct http_sink *s, struct http_hdrs *h, const char *name, size_t nlen,
		    const char *value, size_t vlen)
{
	size_t need = nlen + vlen + 2, cap;
	uint32_t (*ent)[2];
	char *a;

	if (h->n >= s->lim.max_headers || need > s->lim.max_header_bytes ||
	    h->used > s->lim.max_header_bytes - need || need > s->hdr_budget)
		return -E2BIG;
	if (h->used + need > h->cap) {
		cap = h->cap ? h->cap : 512;
		while (cap < h->used + need)
			cap *= 2;
		a = mem_realloc(&s->mem, h->arena, cap);
		if (!a)
			return -ENOMEM;
		h->arena = a;
		h->cap = cap;
	}
	if (h->n == h->cap_ent) {
		cap = h->cap_ent ? h->cap_ent * 2 : 16;
		ent = mem_realloc(&s->mem, h->ent, cap * sizeof(*ent));
		if (!ent)
			return -ENOMEM;
		h->ent = ent;
		h->cap_ent = cap;
	}
	h->ent[h->n][0] = (uint32_t)h->used;
	memcpy(h->arena + h->used, name, nlen);
	h->arena[h->used + nlen] = '\0';
	h->ent[h->n][1] = (uint32_t)(h->used + nlen + 1);
	memcpy(h->arena + h->used + nlen + 1, value, vlen);
	h->arena[h->used + need - 1] = '\0';
	h->used += need;
	h->n++;
	s->hdr_budget -= need;
	return 0;
}

static bool name_is(const char *name, size_t nlen, const char *want)
{
	return strlen(want) == nlen && !strncasecmp(name, want, nlen);
}

static int parse_status(const char *v, size_t len)
{
	if (len != 3 || v[0] < '1' || v[0] > '9' || v[1] < '0' || v[1] > '9' ||
	    v[2] < '0' || v[2] > '9')
		return 0;
	return (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
}

static void pick(struct http_sink *s, struct http_xchg *x, enum http_part part,
		 const char *name, size_t nlen, const char *value, size_t vlen)
{
	if (part == HP_REQ) {
		if (name_is(name, nlen, ":method") && !x->method)
			http_xchg_set(s, &x->method, value, vlen);
		else if (name_is(name, nlen, ":path") && !x->path)
			http_xchg_set(s, &x->path, value, vlen);
		else if (name_is(name, nlen, ":authority") && !x->authority)
			http_xchg_set(s, &x->authority, value, vlen);
		else if (name_is(name, nlen, "host") && !x->host)
			http_xchg_set(s, &x->host, value, vlen);
	} else if (part == HP_RESP && name_is(name, nlen, ":status")) {
		x->status = parse_status(value, vlen);
	}
	if (part != HP_TRAILERS && name_is(name, nlen, "content-type") &&
	    grpc_is_content_type(value, vlen))
		x->grpc = true;
	/* A trailers-only gRPC response carries these in its only header block. */
	if (part != HP_REQ && name_is(name, nlen, "grpc-status"))
		x->grpc_status = grpc_parse_status(value, vlen);
	else if (part != HP_REQ && name_is(name, nlen, "grpc-message"))
		http_xchg_set(s, &x->grpc_message, value, vlen);
}

void http_xchg_header(struct http_sink *s, struct http_xchg *x, enum http_part part,
		      const char *name, size_t nlen, const char *value, size_t vlen)
{
	pick(s, x, part, name, nlen, value, vlen);
	if (hdrs_add(s, &x->hdrs[part], name, nlen, value, vlen) == -E2BIG)
		http_note(s, HN_LIMIT, "headers over the limits (%zu fields, %zu bytes): some not kept",
			  s->lim.max_headers, s->lim.max_header_bytes);
}

void http_xchg_body(struct http_sink *s, struct http_xchg *x, int side, const uint8_t *p, size_t n)
{
	struct http_body *b = &x->body[side];
	size_t k;

	b->bytes += n;
	if (!b->prev_done && b->prev_len < s->lim.body_preview) {
		if (!b->prev)
			b->prev = mem_alloc(&s->mem, s->lim.body_preview);
		if (b->prev) {
			k = s->lim.body_preview - b->prev_len;
			if (k > n)
				k = n;
			memcpy(b->prev + b->prev_len, p, k);
			b->prev_len += k;
		}
	}
	grpc_count_feed(&b->g, p, n);
}

void http_xchg_body_gap(struct http_xchg *x, int side, uint64_t n)
{
	struct http_body *b = &x->body[side];

	b->bytes += n;
	x->incomplete = true;
	grpc_count_gap(&b->g, n);
	/* The preview must not join bytes from both sides of the hole. */
	b->prev_done = true;
}

void http_xchg_clear_response(struct http_sink *s, struct http_xchg *x)
{
	hdrs_free(s, &x->hdrs[HP_RESP]);
	hdrs_free(s, &x->hdrs[HP_TRAILERS]);
	mem_free(&s->mem, x->body[1].prev);
	memset(&x->body[1], 0, sizeof(x->body[1]));
	x->status = 0;
	x->resp_seen = x->resp_done = false;
	x->grpc_status = -1;
	mem_free(&s->mem, x->grpc_message);
	x->grpc_message = NULL;
}

/* Header list views, carved from one allocation: [req][resp][trailers]. */
static struct http_header *views(const struct http_xchg *x)
{
	size_t n = x->hdrs[0].n + x->hdrs[1].n + x->hdrs[2].n, i, k = 0;
	struct http_header *v;
	int part;

	v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return NULL;
	for (part = 0; part < 3; part++) {
		const struct http_hdrs *h = &x->hdrs[part];

		for (i = 0; i < h->n; i++, k++) {
			v[k].name = h->arena + h->ent[i][0];
			v[k].value = h->arena + h->ent[i][1];
		}
	}
	return v;
}

void http_xchg_emit(struct http_sink *s, struct http_xchg *x)
{
	struct http_exchange e = { 0 };
	struct http_header *v;
	char *svc = NULL, *meth = NULL, *msg = NULL;
	size_t plen;

	if (x->drop || !s->cb.on_exchange)
		return;
	v = views(x);
	e.proto = x->proto;
	e.stream_id = x->stream_id;
	e.method = x->method;
	e.path = x->path;
	e.authority = x->authority ? x->authority : x->host;
	e.status = x->status;
	if (v) {
		e.req_headers = v;
		e.n_req_headers = x->hdrs[0].n;
		e.resp_headers = v + x->hdrs[0].n;
		e.n_resp_headers = x->hdrs[1].n;
		e.trailers = v + x->hdrs[0].n + x->hdrs[1].n;
		e.n_trailers = x->hdrs[2].n;
	}
	e.req_body_bytes = x->body[0].bytes;
	e.resp_body_bytes = x->body[1].bytes;
	e.req_body = x->body[0].prev;
	e.req_body_len = x->body[0].prev_len;
	e.resp_body = x->body[1].prev;
	e.resp_body_len = x->body[1].prev_len;
	e.start_ns = x->start_ns;
	e.end_ns = x->end_ns > x->start_ns ? x->end_ns : x->start_ns;
	e.client_dir = x->client_dir;
	e.incomplete = x->incomplete || !x->req_done || !x->resp_done;
	e.grpc = x->grpc;
	e.grpc_status = -1;
	if (x->grpc) {
		e.grpc_status = x->grpc_status;
		plen = x->path ? strlen(x->path) + 1 : 1;
		svc = malloc(plen);
		meth = malloc(plen);
		if (svc && meth && !grpc_split_path(x->path, svc, meth, plen)) {
			e.grpc_service = svc;
			e.grpc_method = meth;
		}
		if (x->grpc_message && (msg = malloc(strlen(x->grpc_message) + 1))) {
			grpc_percent_decode(x->grpc_message, msg, strlen(x->grpc_message) + 1);
			e.grpc_message = msg;
		}
		e.req_msgs = x->body[0].g.msgs;
		e.resp_msgs = x->body[1].g.msgs;
	}
	s->cb.on_exchange(s->ctx, &e);
	free(svc);
	free(meth);
	free(msg);
	free(v);
}
