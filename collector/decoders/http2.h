/* One HTTP/2 connection's parser state, shared by its files: frames, header blocks, streams. */
#ifndef TLSTAP_HTTP2_H
#define TLSTAP_HTTP2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <nghttp2/nghttp2.h>
#include "dlist.h"
#include "http2_frame.h"
#include "http_resync.h"
#include "http_xchg.h"

#define H2_MAX_PENDING_SETTINGS	16
#define H2_BUCKET_BITS		8

/* Where a direction is in its bytes; while its resync is lost, D_HDR. */
enum h2_dstate { D_PREFACE, D_HDR, D_PAYLOAD };

/* Where the fields of the header block being decoded go. */
enum h2_block_kind { B_DISCARD, B_REQ, B_REQ_TRAILERS, B_RESP, B_TRAILERS, B_PUSH };

struct h2_stream {
	struct chain_link hlink;	/* in its bucket */
	struct dlist_node link;		/* creation order */
	uint32_t id;
	struct http_xchg *x;
	/* The server reset it before its request was seen: the request ends at its headers. */
	bool reset_early;
};

struct h2_dir {
	struct h2 *c;
	int dir;
	enum h2_dstate st;
	size_t preface_have;
	bool seen_frame;
	uint8_t hdr[H2_FRAME_HDR];
	size_t hdr_have;
	struct h2_fh fh;
	uint64_t frame_ts;	/* arrival of the frame's first byte */
	uint64_t last_ts;
	uint32_t off;		/* payload bytes consumed */
	uint32_t prefix_len;	/* pad length, priority, promised id; or a fixed-size payload */
	uint32_t body_end;	/* where padding starts */
	uint8_t small[8];
	uint8_t unit[6];	/* SETTINGS entry being read */
	size_t unit_have;
	int64_t table_min, table_last;	/* SETTINGS_HEADER_TABLE_SIZE in this frame, -1 if none */
	nghttp2_hd_inflater *inf;
	/* A header block, from HEADERS or PUSH_PROMISE up to END_HEADERS. */
	bool in_block;
	enum h2_block_kind bk;
	uint32_t block_sid, promised;
	bool block_es;
	uint64_t block_ts;
	struct http_xchg *blk;
	/* Table sizes [min, last] of SETTINGS this side sent and the other has not acknowledged. */
	int64_t pend[H2_MAX_PENDING_SETTINGS][2];
	size_t npend;
	/* ACKs of this side's SETTINGS recorded before those SETTINGS were (the
	 * sender's write returned after the other side read and acknowledged it). */
	size_t early_acks;
	struct http_resync rs;	/* rs.lost: looking for a frame boundary */
};

struct h2 {
	struct http_sink *s;
	nghttp2_mem ngmem;	/* HPACK tables are allocated through it: counted like the rest */
	int client_dir;
	bool frames_only;
	struct h2_dir d[2];
	struct chain_link *buckets[1 << H2_BUCKET_BITS];
	struct dlist streams;	/* in creation order */
	uint32_t max_req_sid;	/* the highest stream the client's requests opened */
};

/* http2.c */

/* Header blocks can no longer be decoded (note reason k): what is open is reported, then frames only. */
void h2_desync(struct h2 *c, enum http_note_kind k, const char *note);
/* h2_desync for a protocol error: why. */
void h2_invalid(struct h2 *c, const char *why);

/* http2_streams.c: open streams, each with the exchange it carries. */

struct h2_stream *h2_stream_find(struct h2 *c, uint32_t id);
/* Takes x. NULL (x freed) past the stream limit. */
struct h2_stream *h2_stream_add(struct h2 *c, uint32_t id, struct http_xchg *x);
/* Reports st's exchange and forgets st. */
void h2_stream_report(struct h2 *c, struct h2_stream *st);
/* Reports st (may be NULL) if both its request and response are complete. */
void h2_stream_maybe_done(struct h2 *c, struct h2_stream *st);
void h2_streams_flush(struct h2 *c);
/* Forgets all streams, reporting none. */
void h2_streams_free(struct h2 *c);
/* RST_STREAM with code from direction dir. */
void h2_rst_stream(struct h2 *c, int dir, uint32_t sid, uint32_t code);
/* GOAWAY from direction dir: streams its receiver opened above last were never processed. */
void h2_goaway(struct h2 *c, int dir, uint32_t last);

/* http2_hpack.c: header blocks through each direction's HPACK inflater. */

/* The inflater of d, its memory counted in the connection's account. Returns 0 or -ENOMEM. */
int h2_hpack_new(struct h2 *c, struct h2_dir *d);
void h2_hpack_free(struct h2_dir *d);
/* A HEADERS or PUSH_PROMISE frame of d (its fh) starts a header block. */
void h2_block_begin(struct h2 *c, struct h2_dir *d);
/* Fragment bytes of the block; final: END_HEADERS came. Returns 0 or -EPROTO. */
int h2_block_inflate(struct h2 *c, struct h2_dir *d, const uint8_t *p, size_t n, bool final);
/* The block is whole: its fields go to the stream they belong to. */
void h2_block_end(struct h2 *c, struct h2_dir *d, uint64_t ts);
/* Drops the blocks being collected in both directions. */
void h2_blocks_drop(struct h2 *c);
/* A SETTINGS entry (d->unit) read. */
void h2_settings_unit(struct h2_dir *d);
/* d's SETTINGS frame ended: its table sizes wait for the other's ACK. */
void h2_settings_sent(struct h2 *c, struct h2_dir *d);
/* d acknowledged the other side's oldest SETTINGS: d's encoder now follows its table size. */
void h2_settings_ack(struct h2 *c, struct h2_dir *d);

#endif
