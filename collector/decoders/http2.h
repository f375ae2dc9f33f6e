/* HTTP/2 decoding of one connection: frames, HPACK per direction, streams paired into exchanges. */
#ifndef TLSTAP_HTTP2_H
#define TLSTAP_HTTP2_H

#include <stdbool.h>
#include <stdint.h>
#include "http_xchg.h"

struct h2;

/*
 * client_dir: the direction that sent the preface. midstream: the streams
 * start anywhere, so header blocks cannot be decoded: each direction looks
 * for a frame boundary and frames are reported (client_dir is then -1).
 * Returns 0 or -ENOMEM.
 */
int h2_new(struct h2 **c, struct http_sink *s, int client_dir, bool midstream);
void h2_feed(struct h2 *c, int dir, const uint8_t *p, size_t n, uint64_t ts);
void h2_gap(struct h2 *c, int dir, uint64_t len);
void h2_close(struct h2 *c, uint64_t ts);
/* Reports the open streams as they stand (unfinished: incomplete); no more is decoded. */
void h2_abort(struct h2 *c);
void h2_free(struct h2 *c);

#endif
