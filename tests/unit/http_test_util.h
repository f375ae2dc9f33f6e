/* For the HTTP decoder unit tests: a recorder of what httpdec reports (deep copies), and note lookups. */
#ifndef TLSTAP_HTTP_TEST_UTIL_H
#define TLSTAP_HTTP_TEST_UTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "httpdec.h"

/* One reported exchange: its scalars as reported, its strings copied (cut to fit). */
struct xrec {
	struct http_exchange e;	/* pointers cleared: they die with the callback */
	char proto[16], method[32], path[256], authority[128];
	char svc[64], meth[64], msg[128];	/* gRPC service, method, message */
	char req_body[64], resp_body[64];
	size_t req_body_len, resp_body_len;
	char hdr[16][160];	/* "name: value" of request headers */
	char trl[8][160];	/* of response trailers */
};

struct recorder {
	struct xrec *x;
	size_t n, cap;
	char notes[8][256];
	size_t nnotes;
	size_t frames;
	uint8_t frame_types[64];
};

static inline void cp(char *dst, size_t size, const char *s)
{
	snprintf(dst, size, "%s", s ? s : "(null)");
}

static inline size_t cp_bytes(char *dst, size_t size, const uint8_t *p, size_t len)
{
	if (len > size)
		len = size;
	if (len)
		memcpy(dst, p, len);
	return len;
}

static inline void cp_fields(char (*dst)[160], size_t max, const struct http_header *h, size_t n)
{
	size_t i;

	for (i = 0; i < n && i < max; i++)
		snprintf(dst[i], sizeof(dst[i]), "%s: %s", h[i].name, h[i].value);
}

static void rec_exchange(void *ctx, const struct http_exchange *e)
{
	struct recorder *r = ctx;
	struct xrec *x;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->x = realloc(r->x, r->cap * sizeof(*r->x));
		assert_non_null(r->x);
	}
	x = &r->x[r->n++];
	memset(x, 0, sizeof(*x));
	x->e = *e;
	x->e.proto = x->e.method = x->e.path = x->e.authority = NULL;
	x->e.grpc_service = x->e.grpc_method = x->e.grpc_message = NULL;
	x->e.req_headers = x->e.resp_headers = x->e.trailers = NULL;
	x->e.req_body = x->e.resp_body = NULL;
	cp(x->proto, sizeof(x->proto), e->proto);
	cp(x->method, sizeof(x->method), e->method);
	cp(x->path, sizeof(x->path), e->path);
	cp(x->authority, sizeof(x->authority), e->authority);
	cp(x->svc, sizeof(x->svc), e->grpc_service);
	cp(x->meth, sizeof(x->meth), e->grpc_method);
	cp(x->msg, sizeof(x->msg), e->grpc_message);
	x->req_body_len = cp_bytes(x->req_body, sizeof(x->req_body), e->req_body, e->req_body_len);
	x->resp_body_len = cp_bytes(x->resp_body, sizeof(x->resp_body), e->resp_body, e->resp_body_len);
	cp_fields(x->hdr, 16, e->req_headers, e->n_req_headers);
	cp_fields(x->trl, 8, e->trailers, e->n_trailers);
}

static void rec_note(void *ctx, const char *note)
{
	struct recorder *r = ctx;

	assert_true(r->nnotes < 8);
	cp(r->notes[r->nnotes++], sizeof(r->notes[0]), note);
}

static void rec_h2_frame(void *ctx, int dir, uint8_t type, uint8_t flags, uint32_t sid, uint32_t len)
{
	struct recorder *r = ctx;

	if (r->frames < sizeof(r->frame_types))
		r->frame_types[r->frames] = type;
	r->frames++;
}

static const struct httpdec_callbacks cbs = {
	.on_exchange = rec_exchange, .on_note = rec_note, .on_h2_frame = rec_h2_frame,
};

/* Frees what r recorded (r itself is the caller's). */
static inline void rec_release(struct recorder *r)
{
	free(r->x);
	r->x = NULL;
	r->n = r->cap = 0;
}

/* Whether a note begins with prefix. */
static inline bool has_note(const struct recorder *r, const char *prefix)
{
	size_t i;

	for (i = 0; i < r->nnotes; i++)
		if (!strncmp(r->notes[i], prefix, strlen(prefix)))
			return true;
	return false;
}

/* Whether a note holds part anywhere. */
static inline bool note_has(const struct recorder *r, const char *part)
{
	size_t i;

	for (i = 0; i < r->nnotes; i++)
		if (strstr(r->notes[i], part))
			return true;
	return false;
}

#endif
