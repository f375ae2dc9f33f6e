/* HTTP/2 frame headers: layout, constants, validity, and the plausibility test used to find frame boundaries. */
#ifndef TLSTAP_HTTP2_FRAME_H
#define TLSTAP_HTTP2_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define H2_FRAME_HDR		9
#define H2_PREFACE_LEN		24
#define H2_DEFAULT_MAX_FRAME	16384

enum h2_type {
	H2_DATA = 0,
	H2_HEADERS = 1,
	H2_PRIORITY = 2,
	H2_RST_STREAM = 3,
	H2_SETTINGS = 4,
	H2_PUSH_PROMISE = 5,
	H2_PING = 6,
	H2_GOAWAY = 7,
	H2_WINDOW_UPDATE = 8,
	H2_CONTINUATION = 9,
};

enum h2_flag {
	H2F_END_STREAM = 0x1,
	H2F_ACK = 0x1,
	H2F_END_HEADERS = 0x4,
	H2F_PADDED = 0x8,
	H2F_PRIORITY = 0x20,
};

enum h2_setting {
	H2S_HEADER_TABLE_SIZE = 1,
};

struct h2_fh {
	uint32_t len;
	uint8_t type, flags;
	uint32_t sid;		/* reserved bit cleared */
	bool reserved;		/* the reserved bit was set */
};

extern const uint8_t h2_preface[H2_PREFACE_LEN];

void h2_fh_parse(const uint8_t *p, struct h2_fh *h);
/*
 * Whether h is what a well-behaved peer sends at its default frame size:
 * a known type with flags, stream and length that fit it. Bytes joined
 * in the middle of a stream are cut into frames only where several
 * plausible headers follow each other.
 */
bool h2_fh_plausible(const struct h2_fh *h);
/* Payload bytes before a DATA/HEADERS/PUSH_PROMISE fragment (pad length, priority, promised id). */
uint32_t h2_fh_prefix_len(const struct h2_fh *h);
/* Payload bytes read whole before the rest: a fixed-size payload (RST_STREAM, PING...) or the prefix. */
uint32_t h2_fh_head_len(const struct h2_fh *h);
/*
 * What the header's type, stream and length disagree on, for a frame
 * from the client or the server; NULL if nothing.
 */
const char *h2_fh_error(const struct h2_fh *h, bool from_client);

static inline uint32_t h2_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#endif
