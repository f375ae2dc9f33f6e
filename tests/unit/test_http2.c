/* Unit tests of the HTTP/2 and gRPC decoding through httpdec: HPACK state, limits, desync, hostile frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nghttp2/nghttp2.h>
#include "httpdec.h"
#include "http_grpc.h"
#include "http_test_util.h"

/* ---- Building frames: the truth the decoder is checked against. */

struct peer {
	nghttp2_hd_deflater *def;
	uint8_t buf[1 << 18];
	size_t len;
};

static void peer_init(struct peer *p)
{
	memset(p, 0, sizeof(*p));
	assert_int_equal(nghttp2_hd_deflate_new(&p->def, 4096), 0);
}

static void frame(struct peer *p, uint8_t type, uint8_t flags, uint32_t sid, const void *pl, size_t n)
{
	uint8_t *h = p->buf + p->len;

	assert_true(p->len + 9 + n <= sizeof(p->buf));
	h[0] = (uint8_t)(n >> 16);
	h[1] = (uint8_t)(n >> 8);
	h[2] = (uint8_t)n;
	h[3] = type;
	h[4] = flags;
	h[5] = (uint8_t)(sid >> 24);
	h[6] = (uint8_t)(sid >> 16);
	h[7] = (uint8_t)(sid >> 8);
	h[8] = (uint8_t)sid;
	if (n)
		memcpy(h + 9, pl, n);
	p->len += 9 + n;
}

static size_t block(struct peer *p, uint8_t *out, const nghttp2_nv *nv, size_t n)
{
	ssize_t k = nghttp2_hd_deflate_hd(p->def, out, 4096, nv, n);

	assert_true(k >= 0);
	return (size_t)k;
}

static void headers(struct peer *p, uint32_t sid, uint8_t flags, const nghttp2_nv *nv, size_t n)
{
	uint8_t b[4096];

	frame(p, 1, flags | 4, sid, b, block(p, b, nv, n));
}

static void send(struct httpdec *d, int dir, struct peer *p, uint64_t ts)
{
	httpdec_feed(d, dir, p->buf, p->len, ts);
	p->len = 0;
}

#define NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE }

static const nghttp2_nv get_root[] = {
	NV(":method", "GET"), NV(":scheme", "https"), NV(":authority", "x.example"), NV(":path", "/"),
};
static const nghttp2_nv ok[] = { NV(":status", "200") };

/* Client (dir 0) and server (dir 1) up to both SETTINGS. */
static struct httpdec *start(struct recorder *r, struct peer *c, struct peer *s,
			     const struct httpdec_limits *lim)
{
	struct httpdec *d;

	memset(r, 0, sizeof(*r));
	peer_init(c);
	peer_init(s);
	assert_int_equal(httpdec_new(&d, &cbs, r, lim, false), 0);
	memcpy(c->buf, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
	c->len = 24;
	frame(c, 4, 0, 0, NULL, 0);
	send(d, 0, c, 1);
	frame(s, 4, 0, 0, NULL, 0);
	frame(s, 4, 1, 0, NULL, 0);
	send(d, 1, s, 2);
	frame(c, 4, 1, 0, NULL, 0);
	send(d, 0, c, 3);
	return d;
}

static void done(struct httpdec *d, struct recorder *r, struct peer *c, struct peer *s)
{
	httpdec_free(d);
	nghttp2_hd_deflate_del(c->def);
	nghttp2_hd_deflate_del(s->def);
	rec_release(r);
}

/* ---- tests */

static void test_h2_headers_decode_across_streams_with_dynamic_table(void **state)
{
	static const nghttp2_nv req[] = {
		NV(":method", "GET"), NV(":scheme", "https"), NV(":authority", "x.example"),
		NV(":path", "/same"), NV("x-custom", "a value the deflater indexes"),
	};
	struct recorder r;
	struct peer c, s;
	struct httpdec *d = start(&r, &c, &s, NULL);
	uint32_t sid;

	for (sid = 1; sid <= 9; sid += 2) {
		headers(&c, sid, 1, req, 5);
		send(d, 0, &c, 10 + sid);
		headers(&s, sid, 1, ok, 1);
		send(d, 1, &s, 20 + sid);
	}
	/* Later blocks are mostly indexes into the dynamic table: decoded all the same. */
	assert_int_equal(r.n, 5);
	for (sid = 0; sid < 5; sid++) {
		assert_int_equal(r.x[sid].e.stream_id, 1 + 2 * sid);
		assert_string_equal(r.x[sid].path, "/same");
		assert_string_equal(r.x[sid].authority, "x.example");
		assert_string_equal(r.x[sid].hdr[4], "x-custom: a value the deflater indexes");
		assert_int_equal(r.x[sid].e.status, 200);
		assert_false(r.x[sid].e.incomplete);
		assert_int_equal(r.x[sid].e.client_dir, 0);
	}
	assert_int_equal(r.nnotes, 0);
	assert_int_equal(r.frames, 0);
	done(d, &r, &c, &s);
}

static void test_h2_table_size_beyond_settings_is_desync_not_garbage(void **state)
{
	struct recorder r;
	struct peer c, s;
	struct httpdec *d = start(&r, &c, &s, NULL);

	/* The server's encoder grows its table past what the client allowed (4096). */
	nghttp2_hd_deflate_del(s.def);
	assert_int_equal(nghttp2_hd_deflate_new(&s.def, 16384), 0);
	assert_int_equal(nghttp2_hd_deflate_change_table_size(s.def, 16384), 0);
	headers(&c, 1, 1, get_root, 4);
	send(d, 0, &c, 10);
	headers(&s, 1, 1, ok, 1);
	send(d, 1, &s, 11);
	assert_true(note_has(&r, "header compression error: frames only"));
	/* What was open is reported without a response; nothing decoded from then on. */
	assert_int_equal(r.n, 1);
	assert_int_equal(r.x[0].e.status, 0);
	assert_true(r.x[0].e.incomplete);
	headers(&c, 3, 1, get_root, 4);
	send(d, 0, &c, 12);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.frames, 1);
	assert_int_equal(r.frame_types[0], 1);
	done(d, &r, &c, &s);
}

/*
 * The client allows a 16384-byte table and the server's encoder uses it:
 * decoded either way round. ack_first: the client's SETTINGS write returned
 * after the server's ACK was read back (Go's transport), so the ACK comes
 * first, and the size still binds from the SETTINGS on.
 */
static void table_size_setting_binds(bool ack_first)
{
	uint8_t set[6] = { 0, 1, 0, 0, 0x40, 0 };	/* HEADER_TABLE_SIZE 16384 */
	struct recorder r;
	struct peer c, s;
	struct httpdec *d = start(&r, &c, &s, NULL);

	if (ack_first) {
		frame(&s, 4, 1, 0, NULL, 0);
		send(d, 1, &s, 5);
	}
	frame(&c, 4, 0, 0, set, 6);
	send(d, 0, &c, 5);
	if (!ack_first) {
		frame(&s, 4, 1, 0, NULL, 0);
		send(d, 1, &s, 6);
	}
	nghttp2_hd_deflate_del(s.def);
	assert_int_equal(nghttp2_hd_deflate_new(&s.def, 16384), 0);
	assert_int_equal(nghttp2_hd_deflate_change_table_size(s.def, 16384), 0);
	headers(&c, 1, 1, get_root, 4);
	send(d, 0, &c, 10);
	headers(&s, 1, 1, ok, 1);
	send(d, 1, &s, 11);
	assert_int_equal(r.nnotes, 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.x[0].e.status, 200);
	done(d, &r, &c, &s);
}

static void test_h2_table_size_setting_followed_after_ack(void **state)
{
	table_size_setting_binds(false);
}

static void test_h2_table_size_setting_acknowledged_before_it_was_recorded(void **state)
{
	table_size_setting_binds(true);
}

static void test_h2_bad_hpack_never_reports_headers(void **state)
{
	static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0x7f };	/* index far past any table */
	struct recorder r;
	struct peer c, s;
	struct httpdec *d = start(&r, &c, &s, NULL);

	frame(&c, 1, 5, 1, junk, sizeof(junk));
	send(d, 0, &c, 10);
	headers(&s, 1, 1, ok, 1);
	send(d, 1, &s, 11);
	assert_int_equal(r.n, 0);
	assert_true(note_has(&r, "frames only"));
	assert_int_equal(r.frames, 1);
	assert_true(httpdec_is_http(d));
	done(d, &r, &c, &s);
}

static void test_h2_open_streams_are_bounded(void **state)
{
	struct recorder r;
	struct peer c, s;
	struct httpdec *d = start(&r, &c, &s, NULL);
	uint32_t i;

	for (i = 0; i < 1200; i++) {
		headers(&c, 1 + 2 * i, 1, get_root, 4);
		send(d, 0, &c, 10 + i);
	}
	assert_true(note_has(&r, "over 1000 open HTTP/2 streams"));
	/* The decoder kept following HPACK: a stream after the limit is freed is decoded. */
	headers(&s, 1, 1, ok, 1);
	send(d, 1, &s, 5000);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.x[0].e.status, 200);
	headers(&c, 3001, 1, get_root, 4);
	send(d, 0, &c, 5001);
	headers(&s, 3001, 1, ok, 1);
	send(d, 1, &s, 5002);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.x[1].e.stream_id, 3001);
	httpdec_close(d, 6000);
	assert_int_equal(r.n, 1001);
	done(d, &r, &c, &s);
}

static void test_h2_padding_longer_than_frame_is_invalid(void **state)
{
	uint8_t pl[8] = { 200, 'a', 'b' };	/* pad length 200 in an 8-byte DATA frame */
	struct recorder r;
	struct peer c, s;
	struct httpdec *d = start(&r, &c, &s, NULL);

	headers(&c, 1, 0, get_root, 4);
	frame(&c, 0, 8 | 1, 1, pl, sizeof(pl));
	send(d, 0, &c, 10);
	assert_true(note_has(&r, "padding longer than the frame"));
	assert_int_equal(r.n, 1);
	assert_true(r.x[0].e.incomplete);
	done(d, &r, &c, &s);
}

static void test_h2_interrupted_header_block_is_invalid(void **state)
{
	uint8_t b[4096];
	size_t n;
	struct recorder r;
	struct peer c, s;
	struct httpdec *d = start(&r, &c, &s, NULL);

	n = block(&c, b, get_root, 4);
	frame(&c, 1, 1, 1, b, n / 2);		/* HEADERS without END_HEADERS */
	frame(&c, 8, 0, 0, "\0\0\0\1", 4);	/* WINDOW_UPDATE in the middle */
	frame(&c, 9, 4, 1, b + n / 2, n - n / 2);
	send(d, 0, &c, 10);
	assert_true(note_has(&r, "header block interrupted"));
	assert_int_equal(r.n, 0);
	done(d, &r, &c, &s);
}

static void test_h2_first_frame_must_be_settings(void **state)
{
	struct recorder r = { 0 };
	struct httpdec *d;

	assert_int_equal(httpdec_new(&d, &cbs, &r, NULL, false), 0);
	httpdec_feed(d, 0, (const uint8_t *)"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24, 1);
	/* An HTTP/1 server refusing the preface. */
	httpdec_feed(d, 1, (const uint8_t *)"HTTP/1.1 400 Bad Request\r\n\r\n", 28, 2);
	assert_false(httpdec_is_http(d));
	assert_true(note_has(&r, "not HTTP"));
	httpdec_free(d);
}

static void test_h2_rst_no_error_after_full_response_is_complete(void **state)
{
	static const nghttp2_nv post[] = {
		NV(":method", "POST"), NV(":scheme", "https"), NV(":authority", "x.example"),
		NV(":path", "/upload"),
	};
	static const nghttp2_nv tooBig[] = { NV(":status", "413") };
	struct recorder r;
	struct peer c, s;
	struct httpdec *d = start(&r, &c, &s, NULL);

	headers(&c, 1, 0, post, 4);
	frame(&c, 0, 0, 1, "part", 4);
	send(d, 0, &c, 10);
	headers(&s, 1, 1, tooBig, 1);
	frame(&s, 3, 0, 1, "\0\0\0\0", 4);	/* RST_STREAM NO_ERROR */
	send(d, 1, &s, 11);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.x[0].e.status, 413);
	assert_false(r.x[0].e.incomplete);
	assert_int_equal(r.x[0].e.req_body_bytes, 4);
	/* Reset with an error before the response: incomplete. */
	headers(&c, 3, 1, get_root, 4);
	frame(&c, 3, 0, 3, "\0\0\0\x8", 4);
	send(d, 0, &c, 12);
	assert_int_equal(r.n, 2);
	assert_true(r.x[1].e.incomplete);
	done(d, &r, &c, &s);
}

/*
 * A client that writes from one thread and reads from another (Go's
 * transport): its request's write returned, and was stamped, after the
 * response had been read back. The stream's exchange is whole all the same.
 */
static void test_h2_response_read_before_its_request_returned(void **state)
{
	static const nghttp2_nv req[] = {
		NV(":method", "POST"), NV(":scheme", "http"), NV(":authority", "g"),
		NV(":path", "/pkg.v1.Svc/Late"), NV("content-type", "application/grpc"),
	};
	static const nghttp2_nv resp[] = { NV(":status", "200"), NV("content-type", "application/grpc") };
	static const nghttp2_nv trl[] = { NV("grpc-status", "5"), NV("grpc-message", "gone") };
	static const uint8_t msg[] = { 0, 0, 0, 0, 3, 'a', 'b', 'c' };
	struct recorder r;
	struct peer c, s;
	struct httpdec *d = start(&r, &c, &s, NULL);

	headers(&c, 1, 1, get_root, 4);
	send(d, 0, &c, 10);
	headers(&s, 1, 1, ok, 1);
	send(d, 1, &s, 11);
	assert_int_equal(r.n, 1);
	/* Stream 3: all of the response, then its request. */
	headers(&s, 3, 0, resp, 2);
	frame(&s, 0, 0, 3, msg, sizeof(msg));
	headers(&s, 3, 1, trl, 2);
	send(d, 1, &s, 20);
	assert_int_equal(r.n, 1);
	headers(&c, 3, 0, req, 5);
	frame(&c, 0, 1, 3, msg, 5);
	send(d, 0, &c, 25);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.x[1].e.stream_id, 3);
	assert_string_equal(r.x[1].method, "POST");
	assert_string_equal(r.x[1].path, "/pkg.v1.Svc/Late");
	assert_int_equal(r.x[1].e.status, 200);
	assert_true(r.x[1].e.grpc);
	assert_string_equal(r.x[1].meth, "Late");
	assert_int_equal(r.x[1].e.grpc_status, 5);
	assert_string_equal(r.x[1].msg, "gone");
	assert_int_equal(r.x[1].e.req_body_bytes, 5);
	assert_int_equal(r.x[1].e.resp_body_bytes, sizeof(msg));
	assert_int_equal(r.x[1].e.resp_msgs, 1);
	assert_false(r.x[1].e.incomplete);
	assert_int_equal(r.x[1].e.start_ns, 20);
	assert_int_equal(r.x[1].e.end_ns, 20);
	/* Stream 7: the server refuses the upload and resets the stream before its request shows up. */
	{
		static const nghttp2_nv post[] = {
			NV(":method", "POST"), NV(":scheme", "https"), NV(":authority", "g"),
			NV(":path", "/upload"),
		};
		static const nghttp2_nv big[] = { NV(":status", "413") };

		headers(&s, 7, 1, big, 1);
		frame(&s, 3, 0, 7, "\0\0\0\0", 4);	/* RST_STREAM NO_ERROR */
		send(d, 1, &s, 26);
		assert_int_equal(r.n, 2);
		headers(&c, 7, 0, post, 4);
		frame(&c, 0, 0, 7, "part", 4);
		send(d, 0, &c, 27);
		assert_int_equal(r.n, 3);
		assert_string_equal(r.x[2].path, "/upload");
		assert_int_equal(r.x[2].e.status, 413);
		assert_false(r.x[2].e.incomplete);
	}
	/* A response on a stream already closed is no early one: dropped. */
	headers(&s, 1, 1, ok, 1);
	/* One whose request never shows up is reported, incomplete, at the close. */
	headers(&s, 9, 1, ok, 1);
	send(d, 1, &s, 30);
	assert_int_equal(r.n, 3);
	httpdec_close(d, 40);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.x[3].e.stream_id, 9);
	assert_string_equal(r.x[3].method, "(null)");
	assert_true(r.x[3].e.incomplete);
	done(d, &r, &c, &s);
}

static void test_h2_grpc_messages_counted_across_one_byte_frames(void **state)
{
	static const nghttp2_nv req[] = {
		NV(":method", "POST"), NV(":scheme", "http"), NV(":authority", "g"),
		NV(":path", "/pkg.v1.Svc/Do"), NV("content-type", "application/grpc+proto"),
	};
	static const nghttp2_nv resp[] = { NV(":status", "200"), NV("content-type", "application/grpc") };
	static const nghttp2_nv trl[] = { NV("grpc-status", "13"), NV("grpc-message", "boom%21%zz") };
	/* Three messages: 2 bytes, empty, 1 byte. */
	static const uint8_t msgs[] = { 0, 0, 0, 0, 2, 'h', 'i', 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 'x' };
	struct recorder r;
	struct peer c, s;
	struct httpdec *d = start(&r, &c, &s, NULL);
	size_t i;

	headers(&c, 1, 0, req, 5);
	for (i = 0; i < sizeof(msgs); i++)
		frame(&c, 0, i + 1 == sizeof(msgs) ? 1 : 0, 1, msgs + i, 1);
	send(d, 0, &c, 10);
	headers(&s, 1, 0, resp, 2);
	frame(&s, 0, 0, 1, msgs, 9);
	frame(&s, 0, 0, 1, msgs + 9, 4);	/* the empty message completes here */
	headers(&s, 1, 1, trl, 2);
	send(d, 1, &s, 11);
	assert_int_equal(r.n, 1);
	assert_true(r.x[0].e.grpc);
	assert_string_equal(r.x[0].svc, "pkg.v1.Svc");
	assert_string_equal(r.x[0].meth, "Do");
	assert_int_equal(r.x[0].e.req_msgs, 3);
	assert_int_equal(r.x[0].e.resp_msgs, 2);	/* the third one never finished */
	assert_int_equal(r.x[0].e.grpc_status, 13);
	assert_string_equal(r.x[0].msg, "boom!%zz");
	done(d, &r, &c, &s);
}

static void test_h2_joined_midstream_reports_frames_never_headers(void **state)
{
	struct recorder r;
	struct peer c, s;
	struct httpdec *d;
	uint8_t all[4096];
	size_t n, i;

	memset(&r, 0, sizeof(r));
	peer_init(&c);
	peer_init(&s);
	/* A real header block, but the table state before the join is unknown. */
	for (i = 0; i < 4; i++)
		headers(&c, 1 + 2 * (uint32_t)i, 1, get_root, 4);
	n = c.len;
	memcpy(all, c.buf, n);
	assert_int_equal(httpdec_new(&d, &cbs, &r, NULL, true), 0);
	httpdec_feed(d, 0, all + 3, n - 3, 1);
	httpdec_close(d, 2);
	assert_int_equal(r.n, 0);
	assert_true(note_has(&r, "joined mid-stream: frames only"));
	assert_int_equal(r.frames, 3);
	assert_int_equal(r.frame_types[0], 1);
	httpdec_free(d);
	nghttp2_hd_deflate_del(c.def);
	nghttp2_hd_deflate_del(s.def);
}

static void test_h2_gap_in_header_block_stops_header_decoding(void **state)
{
	uint8_t b[4096];
	size_t n;
	struct recorder r;
	struct peer c, s;
	struct httpdec *d = start(&r, &c, &s, NULL);

	n = block(&c, b, get_root, 4);
	frame(&c, 1, 5, 1, b, n);
	httpdec_feed(d, 0, c.buf, 12, 10);	/* frame header and 3 bytes of the block */
	httpdec_gap(d, 0, 2);
	httpdec_feed(d, 0, c.buf + 14, c.len - 14, 11);
	c.len = 0;
	headers(&c, 3, 1, get_root, 4);
	send(d, 0, &c, 12);
	assert_true(note_has(&r, "gap of 2 bytes in an HTTP/2 frame"));
	assert_int_equal(r.n, 0);
	assert_int_equal(r.frames, 1);	/* the HEADERS of stream 3 */
	done(d, &r, &c, &s);
}

static void test_h2_large_frames_decode(void **state)
{
	static uint8_t big[100000];
	struct recorder r;
	struct peer c, s;
	struct httpdec *d = start(&r, &c, &s, NULL);

	headers(&c, 1, 1, get_root, 4);
	send(d, 0, &c, 10);
	headers(&s, 1, 0, ok, 1);
	memset(big, 'z', sizeof(big));
	frame(&s, 0, 1, 1, big, sizeof(big));	/* as after SETTINGS_MAX_FRAME_SIZE 1 MiB */
	send(d, 1, &s, 11);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.x[0].e.resp_body_bytes, sizeof(big));
	assert_false(r.x[0].e.incomplete);
	done(d, &r, &c, &s);
}

/* Header values the deflater keeps in its table and the decoder keeps per open stream. */
static void big_request(struct peer *c, uint32_t sid, char *val, size_t len)
{
	nghttp2_nv nv[5] = {
		NV(":method", "POST"), NV(":scheme", "https"), NV(":authority", "x.example"),
		NV(":path", "/big"), { (uint8_t *)"x-big", (uint8_t *)val, 5, len, NGHTTP2_NV_FLAG_NONE },
	};

	val[0] = (char)('a' + sid % 26);	/* a new value each time: not an index */
	headers(c, sid, 0, nv, 5);	/* the request body is still to come */
}

static void test_h2_decoder_memory_is_charged_and_given_back(void **state)
{
	struct mem_budget mb;
	struct httpdec_limits lim = { .budget = &mb };
	struct recorder r;
	struct peer c, s;
	struct httpdec *d;
	char val[2000];
	size_t idle;
	uint32_t sid;

	memset(val, 'v', sizeof(val));
	mem_budget_init(&mb, 0);	/* no limit: counted only */
	d = start(&r, &c, &s, &lim);
	idle = mb.used;
	assert_true(idle > 0);
	assert_int_equal(httpdec_mem(d), mb.used);
	/* 40 open streams of 2000-byte header values: kept until their responses. */
	for (sid = 1; sid < 80; sid += 2) {
		big_request(&c, sid, val, sizeof(val));
		send(d, 0, &c, 10 + sid);
	}
	print_message("idle %zu, with 40 open streams %zu\n", idle, mb.used);
	assert_true(mb.used >= idle + 40 * sizeof(val));
	assert_int_equal(httpdec_mem(d), mb.used);
	for (sid = 1; sid < 80; sid += 2) {
		frame(&c, 0, 1, sid, NULL, 0);	/* DATA, END_STREAM */
		send(d, 0, &c, 100 + sid);
		headers(&s, sid, 1, ok, 1);
		send(d, 1, &s, 100 + sid);
	}
	assert_int_equal(r.n, 40);
	assert_true(mb.used < idle + 40 * sizeof(val));
	done(d, &r, &c, &s);
	assert_int_equal(mb.used, 0);
}

static void test_h2_over_budget_stops_decoding_with_a_note(void **state)
{
	struct mem_budget mb;
	struct httpdec_limits lim = { .budget = &mb };
	struct recorder r;
	struct peer c, s;
	struct httpdec *d;
	char val[2000];
	uint32_t sid;

	memset(val, 'v', sizeof(val));
	mem_budget_init(&mb, 0);
	d = start(&r, &c, &s, &lim);
	/* Room for a few open streams more than the idle connection needs. */
	mb.limit = mb.used + 5 * sizeof(val);
	for (sid = 1; sid < 80 && httpdec_is_http(d); sid += 2) {
		big_request(&c, sid, val, sizeof(val));
		send(d, 0, &c, 10 + sid);
	}
	assert_false(httpdec_is_http(d));
	assert_true(httpdec_over_budget(d));
	assert_true(sid < 20);
	assert_true(mb.peak <= mb.limit);
	assert_true(mb.refused > 0);
	assert_int_equal(r.nnotes, 1);
	assert_true(note_has(&r, "memory budget"));
	done(d, &r, &c, &s);
	assert_int_equal(mb.used, 0);
}

static void test_grpc_helpers(void **state)
{
	char a[32], b[32];

	assert_int_equal(grpc_split_path("/a.B/C", a, b, sizeof(a)), 0);
	assert_string_equal(a, "a.B");
	assert_string_equal(b, "C");
	assert_int_equal(grpc_split_path("/noslash", a, b, sizeof(a)), -22);
	assert_int_equal(grpc_split_path("/a//", a, b, sizeof(a)), -22);
	assert_int_equal(grpc_split_path("/a/b/c", a, b, sizeof(a)), -22);
	assert_int_equal(grpc_split_path(NULL, a, b, sizeof(a)), -22);
	grpc_percent_decode("%41%4a%4A%%2%", a, sizeof(a));
	assert_string_equal(a, "AJJ%%2%");
	grpc_percent_decode("abcdef", a, 4);
	assert_string_equal(a, "abc");
	assert_true(grpc_is_content_type("application/grpc", 16));
	assert_true(grpc_is_content_type("Application/GRPC+json", 21));
	assert_true(grpc_is_content_type("application/grpc-web-text", 25));
	assert_false(grpc_is_content_type("application/grpcx", 17));
	assert_false(grpc_is_content_type("application/json", 16));
	assert_int_equal(grpc_parse_status("14", 2), 14);
	assert_int_equal(grpc_parse_status("1a", 2), -1);
	assert_int_equal(grpc_parse_status("", 0), -1);
	assert_int_equal(grpc_parse_status("99999999999", 11), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_h2_headers_decode_across_streams_with_dynamic_table),
		cmocka_unit_test(test_h2_table_size_beyond_settings_is_desync_not_garbage),
		cmocka_unit_test(test_h2_table_size_setting_followed_after_ack),
		cmocka_unit_test(test_h2_table_size_setting_acknowledged_before_it_was_recorded),
		cmocka_unit_test(test_h2_bad_hpack_never_reports_headers),
		cmocka_unit_test(test_h2_open_streams_are_bounded),
		cmocka_unit_test(test_h2_padding_longer_than_frame_is_invalid),
		cmocka_unit_test(test_h2_interrupted_header_block_is_invalid),
		cmocka_unit_test(test_h2_first_frame_must_be_settings),
		cmocka_unit_test(test_h2_rst_no_error_after_full_response_is_complete),
		cmocka_unit_test(test_h2_response_read_before_its_request_returned),
		cmocka_unit_test(test_h2_grpc_messages_counted_across_one_byte_frames),
		cmocka_unit_test(test_h2_joined_midstream_reports_frames_never_headers),
		cmocka_unit_test(test_h2_gap_in_header_block_stops_header_decoding),
		cmocka_unit_test(test_h2_large_frames_decode),
		cmocka_unit_test(test_h2_decoder_memory_is_charged_and_given_back),
		cmocka_unit_test(test_h2_over_budget_stops_decoding_with_a_note),
		cmocka_unit_test(test_grpc_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
