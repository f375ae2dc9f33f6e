/* HTTP/1.x, HTTP/2 and gRPC decoding of one connection's two plaintext byte streams. */
#ifndef TLSTAP_HTTPDEC_H
#define TLSTAP_HTTPDEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mem_budget.h"

/*
 * Directions are the collector's: 0 = "out" (the traced process sent it),
 * 1 = "in" (it received it). The traced process may be the client or the
 * server; the decoder works out which direction carries requests.
 *
 * Every string in an exchange is NUL-terminated and NULL when absent (no
 * Host header, a response whose request was never seen). Header lists hold
 * the fields in wire order; for HTTP/2 that includes pseudo-headers
 * (":method", ":status", ...), whose values are also in the fields below.
 * Values are the bytes as sent: a printer must escape control characters.
 */
struct httpdec;

struct http_header {
	const char *name, *value;
};

struct http_exchange {
	const char *proto;		/* "http/1.1", "http/1.0" or "h2" */
	uint32_t stream_id;		/* h2; 0 for http/1 */
	const char *method, *path, *authority;	/* authority = :authority or Host */
	int status;			/* 0 if no response (connection ended first) */
	const struct http_header *req_headers;
	size_t n_req_headers;
	const struct http_header *resp_headers;
	size_t n_resp_headers;
	const struct http_header *trailers;	/* response trailers */
	size_t n_trailers;
	uint64_t req_body_bytes, resp_body_bytes;	/* as framed, lost bytes included */
	const uint8_t *req_body;	/* first bytes, at most the preview limit */
	size_t req_body_len;
	const uint8_t *resp_body;
	size_t resp_body_len;
	uint64_t start_ns, end_ns;	/* first request byte, last response byte */
	int client_dir;			/* 0 or 1: which direction carried the request */
	bool incomplete;		/* ended by close/gap/reset before completing */
	/* gRPC (content-type application/grpc*) */
	bool grpc;
	const char *grpc_service, *grpc_method;
	int grpc_status;		/* -1 if absent */
	const char *grpc_message;	/* percent-decoded */
	uint32_t req_msgs, resp_msgs;	/* complete length-prefixed messages */
};

/*
 * Callbacks run inside httpdec_feed/gap/close and must not call back into
 * the same decoder.
 */
struct httpdec_callbacks {
	/* Pointers are valid during the call only. */
	void (*on_exchange)(void *ctx, const struct http_exchange *x);
	/* One-line notes, at most once per kind per connection. */
	void (*on_note)(void *ctx, const char *note);
	/* HTTP/2 frames, only while header blocks cannot be decoded (joined mid-stream, desync). */
	void (*on_h2_frame)(void *ctx, int dir, uint8_t type, uint8_t flags, uint32_t stream_id,
			    uint32_t length);
};

struct httpdec_limits {
	size_t max_header_bytes;	/* per message: a line, and names+values kept; 64 KiB */
	size_t max_headers;		/* per message, kept; 100 */
	size_t body_preview;		/* body bytes kept per side; 256 */
	/*
	 * What the decoder's memory is charged to (NULL: no limit). When it
	 * refuses, the decoder stops with a note, as for "not HTTP".
	 */
	struct mem_budget *budget;
};

/* lim NULL or zero fields: defaults. Returns 0 or -ENOMEM, -ENOBUFS (over the budget), -EINVAL. */
int httpdec_new(struct httpdec **d, const struct httpdec_callbacks *cb, void *ctx,
		const struct httpdec_limits *lim, bool joined_midstream);
void httpdec_feed(struct httpdec *d, int dir, const uint8_t *data, size_t len, uint64_t ts_ns);
/* len bytes are missing here in direction dir. */
void httpdec_gap(struct httpdec *d, int dir, uint64_t len);
/* Reports pending exchanges as incomplete, until-close bodies as complete. Later feeds are ignored. */
void httpdec_close(struct httpdec *d, uint64_t ts_ns);
void httpdec_free(struct httpdec *d);
/*
 * Gives up on the connection (to free memory), or finishes one that
 * stopped for lack of it: exchanges under way are reported as they stand,
 * marked incomplete, and nothing more is decoded. No note: the caller (or
 * the decoder, when it stopped) says why.
 */
void httpdec_abort(struct httpdec *d);
/* Bytes the decoder holds now, as charged to its budget. */
size_t httpdec_mem(const struct httpdec *d);
/* Whether decoding stopped because the memory budget refused. */
bool httpdec_over_budget(const struct httpdec *d);
/*
 * False once the decoder produces nothing more for this connection: not
 * HTTP, upgraded (websocket, CONNECT tunnel) or HTTP/1 sync lost. The
 * caller should show the raw bytes from then on. True while undecided.
 */
bool httpdec_is_http(const struct httpdec *d);
/*
 * Bytes looked at so far while searching for line ends, checking lines
 * as they grow and looking for start lines: linear in the bytes fed
 * however they are cut (tests bound it), never rescanned per new byte.
 */
uint64_t httpdec_work(const struct httpdec *d);
/* "DATA", "HEADERS", ... or "UNKNOWN", for printing on_h2_frame. */
const char *httpdec_h2_frame_name(uint8_t type);

#endif
