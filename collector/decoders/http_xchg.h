/* What the HTTP parsers report into: exchanges being assembled (headers, bodies), notes, limits. */
#ifndef TLSTAP_HTTP_XCHG_H
#define TLSTAP_HTTP_XCHG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "httpdec.h"
#include "http_grpc.h"
#include "dlist.h"
#include "mem_budget.h"

/* Each kind of note is reported at most once per connection. */
enum http_note_kind {
	HN_NOT_HTTP,
	HN_UPGRADED,
	HN_H2_FRAMES,		/* HTTP/2 header blocks no longer decoded */
	HN_GAP,
	HN_LIMIT,		/* headers dropped: over a limit */
	HN_STREAMS,		/* HTTP/2 streams not followed: too many open */
	HN_H1_RESYNC,
	HN_MEMORY,		/* the memory budget refused: decoding stopped */
	HN_KINDS
};

/* One connection's reporting state, shared by the dispatcher and the parser it picked. */
struct http_sink {
	struct httpdec_callbacks cb;
	void *ctx;
	struct httpdec_limits lim;
	unsigned notes;		/* bit per kind already reported */
	bool stopped;		/* nothing more will be decoded */
	size_t hdr_budget;	/* header bytes all open exchanges may still keep */
	uint64_t work;		/* bytes examined by line and start scans (see httpdec_work) */
	struct mem_account mem;	/* everything the decoder allocates, counted */
	bool over_budget;	/* stopped because the memory budget refused */
};

/* A note unless decoding has stopped; with stop, nothing more is decoded on this connection. */
void http_report(struct http_sink *s, enum http_note_kind k, bool stop, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#define http_note(s, k, ...)	http_report(s, k, false, __VA_ARGS__)
#define http_stop(s, k, ...)	http_report(s, k, true, __VA_ARGS__)

/* Header fields of one message, names and values in one arena, within the limits. */
struct http_hdrs {
	char *arena;
	size_t used, cap;
	uint32_t (*ent)[2];	/* name and value offsets into arena */
	size_t n, cap_ent;
};

enum http_part { HP_REQ, HP_RESP, HP_TRAILERS };

struct http_body {
	uint64_t bytes;
	uint8_t *prev;
	size_t prev_len;
	bool prev_done;		/* a gap ended the preview */
	struct grpc_count g;
};

struct http_xchg {
	struct dlist_node link;		/* the owner's list */
	const char *proto;
	uint32_t stream_id;
	int client_dir;
	char *method, *path, *authority, *host;
	int status;
	struct http_hdrs hdrs[3];	/* by enum http_part */
	struct http_body body[2];	/* 0: request, 1: response */
	bool grpc;
	int grpc_status;
	char *grpc_message;		/* as sent: percent-encoded */
	uint64_t start_ns, end_ns;
	bool incomplete;
	bool req_seen, req_done;	/* request start line / headers seen, message complete */
	bool resp_seen, resp_done;
	bool drop;			/* not reported: its request was never seen after a resync */
};

struct http_xchg *http_xchg_new(struct http_sink *s, const char *proto, int client_dir);
void http_xchg_free(struct http_sink *s, struct http_xchg *x);
/* A bounded copy of len bytes into *dst (replacing it). Returns 0 or -ENOMEM. */
int http_xchg_set(struct http_sink *s, char **dst, const char *v, size_t len);
/*
 * A header field of one part: kept within the limits, and the fields the
 * exchange summary needs (":method", "host", "content-type",
 * "grpc-status"...) picked out whether kept or not.
 */
void http_xchg_header(struct http_sink *s, struct http_xchg *x, enum http_part part,
		      const char *name, size_t nlen, const char *value, size_t vlen);
/* Body bytes of side 0 (request) or 1 (response). */
void http_xchg_body(struct http_sink *s, struct http_xchg *x, int side, const uint8_t *p, size_t n);
void http_xchg_body_gap(struct http_xchg *x, int side, uint64_t n);
/* Forgets a response that turned out not to be one. */
void http_xchg_clear_response(struct http_sink *s, struct http_xchg *x);
/* Calls on_exchange unless x->drop; x stays owned by the caller. */
void http_xchg_emit(struct http_sink *s, struct http_xchg *x);

#endif
