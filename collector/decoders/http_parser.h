/* The interface httpdec drives its chosen parser through: HTTP/1 or HTTP/2 for one connection. */
#ifndef TLSTAP_HTTP_PARSER_H
#define TLSTAP_HTTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "http_xchg.h"

/*
 * Calls come from httpdec only after its own checks: dir is 0 or 1,
 * lengths are not zero, and feed and gap are not called once decoding
 * stopped.
 */
struct http_parser {
	/*
	 * client_dir: the direction carrying requests (HTTP/2: that sent the
	 * preface; -1 when not known). midstream: the streams start anywhere,
	 * so each direction looks for a place to start (an HTTP/2 one reports
	 * frames only). Returns 0 or -ENOMEM.
	 */
	int (*create)(void **parser, struct http_sink *s, int client_dir, bool midstream);
	void (*feed)(void *parser, int dir, const uint8_t *p, size_t n, uint64_t ts);
	void (*gap)(void *parser, int dir, uint64_t len);
	void (*close)(void *parser, uint64_t ts);
	/* Reports what is pending as it stands (unfinished: incomplete); no more is decoded. */
	void (*abort)(void *parser);
	void (*free)(void *parser);
};

/* Requests and responses per direction, paired in order. */
extern const struct http_parser http1_parser;
/* Frames, HPACK per direction, streams paired into exchanges. */
extern const struct http_parser http2_parser;

#endif
