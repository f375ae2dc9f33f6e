/* The HTTP decoder fuzz harness shared by fuzz_http1.c and fuzz_http2.c. */
#ifndef TLSTAP_FUZZ_HTTPDEC_H
#define TLSTAP_FUZZ_HTTPDEC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "httpdec.h"

/*
 * Input: byte 0 picks the pattern: bit 0 joined mid-stream, bits 1-2 how
 * chunks are cut (as given, one byte at a time, pseudo-random, halves),
 * bit 3 swaps directions, bit 4 tiny limits, bit 5 (HTTP/2 target) starts
 * the connection with the client preface and both SETTINGS so that
 * mutations reach the frame and HPACK parsers at once. Then records: a
 * header byte (bit 7 direction, bit 6 gap, low 6 bits a length; 63 means a
 * 16-bit big-endian length follows) and, for data, that many bytes.
 */

static volatile size_t sink;

/* Touch everything the decoder hands out, so ASan sees a bad pointer or length. */
static size_t str(const char *s)
{
	return s ? strlen(s) : 0;
}

static void on_exchange(void *ctx, const struct http_exchange *x)
{
	size_t n = str(x->proto) + str(x->method) + str(x->path) + str(x->authority) +
		   str(x->grpc_service) + str(x->grpc_method) + str(x->grpc_message), i;

	for (i = 0; i < x->n_req_headers; i++)
		n += str(x->req_headers[i].name) + str(x->req_headers[i].value);
	for (i = 0; i < x->n_resp_headers; i++)
		n += str(x->resp_headers[i].name) + str(x->resp_headers[i].value);
	for (i = 0; i < x->n_trailers; i++)
		n += str(x->trailers[i].name) + str(x->trailers[i].value);
	for (i = 0; i < x->req_body_len; i++)
		n += x->req_body[i];
	for (i = 0; i < x->resp_body_len; i++)
		n += x->resp_body[i];
	if (x->client_dir != 0 && x->client_dir != 1)
		abort();
	sink += n;
}

static void on_note(void *ctx, const char *note)
{
	sink += strlen(note);
}

static void on_h2_frame(void *ctx, int dir, uint8_t type, uint8_t flags, uint32_t sid, uint32_t len)
{
	sink += strlen(httpdec_h2_frame_name(type)) + (size_t)dir + len;
}

static const struct httpdec_callbacks cbs = {
	.on_exchange = on_exchange, .on_note = on_note, .on_h2_frame = on_h2_frame,
};

static void feed(struct httpdec *d, int dir, const uint8_t *p, size_t n, uint64_t ts, int cut,
		 uint32_t *rs)
{
	uint8_t *copy;
	size_t k;

	while (n) {
		if (cut == 1)
			k = 1;
		else if (cut == 2)
			k = 1 + (*rs = *rs * 1103515245u + 12345u) % 97;
		else if (cut == 3)
			k = n > 1 ? n / 2 : 1;
		else
			k = n;
		if (k > n)
			k = n;
		/* A private copy of exactly k bytes: any overread is seen. */
		copy = malloc(k);
		if (!copy)
			return;
		memcpy(copy, p, k);
		httpdec_feed(d, dir, copy, k, ts);
		free(copy);
		p += k;
		n -= k;
	}
}

/* One input through one decoder; with_preface: bit 5 of byte 0 may start an HTTP/2 connection. */
static int fuzz_httpdec(const uint8_t *data, size_t size, bool with_preface)
{
	struct httpdec_limits tiny = { .max_header_bytes = 64, .max_headers = 3, .body_preview = 4 };
	struct httpdec *d;
	size_t off = 1, len;
	uint64_t ts = 1;
	uint32_t rs;
	int dir, cut, swap;
	uint8_t h;

	if (size < 1)
		return 0;
	cut = data[0] >> 1 & 3;
	swap = data[0] >> 3 & 1;
	rs = data[0];
	if (httpdec_new(&d, &cbs, NULL, data[0] & 0x10 ? &tiny : NULL, data[0] & 1))
		return 0;
	if (with_preface && (data[0] & 0x20)) {
		static const uint8_t settings[9] = { 0, 0, 0, 4, 0, 0, 0, 0, 0 };

		feed(d, swap, (const uint8_t *)"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24, ts, cut, &rs);
		feed(d, swap, settings, 9, ts, cut, &rs);
		feed(d, !swap, settings, 9, ts++, cut, &rs);
	}
	while (off < size) {
		h = data[off++];
		dir = (h >> 7) ^ swap;
		len = h & 63;
		if (len == 63 && !(h & 0x40)) {
			if (size - off < 2)
				break;
			len = (size_t)data[off] << 8 | data[off + 1];
			off += 2;
		}
		if (h & 0x40) {
			httpdec_gap(d, dir, len + 1);
			continue;
		}
		if (len > size - off)
			len = size - off;
		feed(d, dir, data + off, len, ts++, cut, &rs);
		off += len;
		sink += httpdec_is_http(d);
	}
	httpdec_close(d, ts);
	httpdec_feed(d, 0, data, size, ts);	/* after close: ignored */
	httpdec_free(d);
	return 0;
}

#endif
