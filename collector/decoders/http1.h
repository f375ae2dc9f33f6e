/* One HTTP/1 connection's parser state, shared by its files: byte loop, message framing, pairing. */
#ifndef TLSTAP_HTTP1_H
#define TLSTAP_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dlist.h"
#include "http_buf.h"
#include "http_resync.h"
#include "http_xchg.h"

/* Where a side is in its current message; while its resync is lost, S_START. */
enum h1_state {
	S_START,		/* start line (empty lines before it are skipped) */
	S_HEADERS,
	S_BODY,			/* Content-Length: left bytes */
	S_CHUNK_SIZE,
	S_CHUNK_DATA,
	S_CHUNK_CRLF,
	S_TRAILERS,
	S_UNTIL_CLOSE,
};

struct h1_side {
	enum h1_state st;
	bool is_req;
	struct http_buf line;	/* the line being read */
	struct http_buf field;	/* the last field line, held back for obs-fold */
	struct http_resync rs;	/* rs.lost: looking for a start line */
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
	struct dlist q;			/* exchanges in request order */
	/* After a resync the next response pairs with the latest request only. */
	bool pair_latest;
};

/* http1_pair.c: the queue of exchanges, responses paired with requests in order. */

/* A new exchange at the tail; NULL when decoding stopped (over the limit, no memory). */
struct http_xchg *h1_enqueue(struct h1 *h, const char *proto);
/* The exchange a new request belongs to: the oldest response read back
 * before it, or a new one; NULL when decoding stopped. */
struct http_xchg *h1_request_target(struct h1 *h, const char *proto);
/* Responses waiting for requests the request side lost count of: reported alone. */
void h1_orphan_early(struct h1 *h);
/* The exchange a new final response belongs to; NULL when decoding stopped. */
struct http_xchg *h1_response_target(struct h1 *h, const char *proto);
/* Reports finished exchanges from the head, in request order. */
void h1_emit_ready(struct h1 *h);
/* Everything queued, reported as it stands; the sides forget their messages. */
void h1_flush_all(struct h1 *h);
/* Frees the queue, reporting nothing. */
void h1_queue_free(struct h1 *h);

/* http1_msg.c: one message's lines, from its start line to its end. */

void h1_side_reset_message(struct h1_side *sd);
/* The side's bytes are not what they should be: resync if tentative, else stop decoding. */
void h1_invalid(struct h1 *h, struct h1_side *sd, const char *why);
void h1_message_done(struct h1 *h, struct h1_side *sd, uint64_t ts);
/* A complete line (without CRLF) in the side's current state. */
void h1_line_done(struct h1 *h, struct h1_side *sd, const char *l, size_t n, uint64_t ts);

#endif
