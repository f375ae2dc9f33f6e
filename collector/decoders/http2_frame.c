/* HTTP/2 frame headers: layout, constants, validity, and the plausibility test used to find frame boundaries. */
#include "httpdec.h"
#include "http2_frame.h"

const uint8_t h2_preface[H2_PREFACE_LEN] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

void h2_fh_parse(const uint8_t *p, struct h2_fh *h)
{
	h->len = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
	h->type = p[3];
	h->flags = p[4];
	h->reserved = p[5] & 0x80;
	h->sid = ((uint32_t)p[5] & 0x7f) << 24 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 8 | p[8];
}

bool h2_fh_plausible(const struct h2_fh *h)
{
	if (h->reserved || h->len > H2_DEFAULT_MAX_FRAME)
		return false;
	switch (h->type) {
	case H2_DATA:
		return h->sid && !(h->flags & ~(H2F_END_STREAM | H2F_PADDED));
	case H2_HEADERS:
		return h->sid && !(h->flags & ~(H2F_END_STREAM | H2F_END_HEADERS | H2F_PADDED |
						 H2F_PRIORITY));
	case H2_PRIORITY:
		return h->sid && !h->flags && h->len == 5;
	case H2_RST_STREAM:
		return h->sid && !h->flags && h->len == 4;
	case H2_SETTINGS:
		return !h->sid && !(h->flags & ~H2F_ACK) && h->len % 6 == 0 &&
		       !(h->flags & H2F_ACK && h->len);
	case H2_PUSH_PROMISE:
		return h->sid && !(h->flags & ~(H2F_END_HEADERS | H2F_PADDED)) && h->len >= 4;
	case H2_PING:
		return !h->sid && !(h->flags & ~H2F_ACK) && h->len == 8;
	case H2_GOAWAY:
		return !h->sid && !h->flags && h->len >= 8;
	case H2_WINDOW_UPDATE:
		return !h->flags && h->len == 4;
	case H2_CONTINUATION:
		return h->sid && !(h->flags & ~H2F_END_HEADERS);
	default:
		return false;
	}
}

uint32_t h2_fh_prefix_len(const struct h2_fh *h)
{
	uint32_t n = 0;

	switch (h->type) {
	case H2_DATA:
		n = h->flags & H2F_PADDED ? 1 : 0;
		break;
	case H2_HEADERS:
		n = (h->flags & H2F_PADDED ? 1 : 0) + (h->flags & H2F_PRIORITY ? 5 : 0);
		break;
	case H2_PUSH_PROMISE:
		n = (h->flags & H2F_PADDED ? 1 : 0) + 4;
		break;
	}
	return n;
}

uint32_t h2_fh_head_len(const struct h2_fh *h)
{
	switch (h->type) {
	case H2_RST_STREAM:
	case H2_WINDOW_UPDATE:
		return 4;
	case H2_PRIORITY:
		return 5;
	case H2_PING:
	case H2_GOAWAY:
		return 8;
	default:
		return h2_fh_prefix_len(h);
	}
}

const char *h2_fh_error(const struct h2_fh *f, bool from_client)
{
	switch (f->type) {
	case H2_DATA:
	case H2_HEADERS:
	case H2_PRIORITY:
	case H2_RST_STREAM:
	case H2_PUSH_PROMISE:
	case H2_CONTINUATION:
		if (!f->sid)
			return "frame on stream 0";
		break;
	case H2_SETTINGS:
	case H2_PING:
	case H2_GOAWAY:
		if (f->sid)
			return "connection frame on a stream";
		break;
	}
	if ((f->type == H2_SETTINGS && (f->len % 6 || (f->flags & H2F_ACK && f->len))) ||
	    (f->type == H2_PING && f->len != 8) || (f->type == H2_RST_STREAM && f->len != 4) ||
	    (f->type == H2_WINDOW_UPDATE && f->len != 4) || (f->type == H2_PRIORITY && f->len != 5) ||
	    (f->type == H2_GOAWAY && f->len < 8))
		return "frame of a bad size";
	if (f->type == H2_PUSH_PROMISE && from_client)
		return "PUSH_PROMISE from the client";
	return NULL;
}

const char *httpdec_h2_frame_name(uint8_t type)
{
	static const char *const names[] = {
		"DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS",
		"PUSH_PROMISE", "PING", "GOAWAY", "WINDOW_UPDATE", "CONTINUATION",
	};

	return type < sizeof(names) / sizeof(names[0]) ? names[type] : "UNKNOWN";
}
