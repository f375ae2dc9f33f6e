/* HTTP/1.x decoding of one connection: requests and responses per direction, paired in order. */
#ifndef TLSTAP_HTTP1_H
#define TLSTAP_HTTP1_H

#include <stdbool.h>
#include <stdint.h>
#include "http_xchg.h"

struct h1;

/*
 * client_dir: the direction carrying requests. resync: the streams start
 * anywhere (joined mid-stream), so each looks for its first start line.
 * Returns 0 or -ENOMEM.
 */
int h1_new(struct h1 **h, struct http_sink *s, int client_dir, bool resync);
void h1_feed(struct h1 *h, int dir, const uint8_t *p, size_t n, uint64_t ts);
void h1_gap(struct h1 *h, int dir, uint64_t len);
void h1_close(struct h1 *h, uint64_t ts);
/* Reports what is pending as it stands (unfinished: incomplete); no more is decoded. */
void h1_abort(struct h1 *h);
void h1_free(struct h1 *h);

#endif
