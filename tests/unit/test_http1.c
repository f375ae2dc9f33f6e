/* Unit tests of the HTTP/1 decoder through httpdec: pairing, roles, framing, limits, gaps, hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "httpdec.h"
#include "http_test_util.h"
#include "http_scan.h"

/* ---- Driving the decoder */

static struct recorder *rec_new(void)
{
	struct recorder *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	return r;
}

static void rec_free(struct recorder *r)
{
	rec_release(r);
	free(r);
}

static struct httpdec *dec(struct recorder *r, const struct httpdec_limits *lim, bool joined)
{
	struct httpdec *d;

	assert_int_equal(httpdec_new(&d, &cbs, r, lim, joined), 0);
	return d;
}

static void feed(struct httpdec *d, int dir, const char *s, uint64_t ts)
{
	httpdec_feed(d, dir, (const uint8_t *)s, strlen(s), ts);
}

/* ---- tests */

static void test_http1_pipelined_responses_pair_in_request_order(void **state)
{
	struct recorder *r = rec_new();
	struct httpdec *d = dec(r, NULL, false);

	feed(d, 0, "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nHEAD /3 HTTP/1.1\r\n\r\n", 10);
	feed(d, 1, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", 20);
	assert_int_equal(r->n, 1);
	feed(d, 1, "HTTP/1.1 500 Oops\r\nContent-Length: 2\r\n\r\nyy"
		   "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", 30);
	assert_int_equal(r->n, 3);
	assert_string_equal(r->x[0].path, "/1");
	assert_int_equal(r->x[0].e.status, 200);
	assert_string_equal(r->x[1].path, "/2");
	assert_int_equal(r->x[1].e.status, 500);
	assert_int_equal(r->x[1].e.resp_body_bytes, 2);
	assert_string_equal(r->x[2].method, "HEAD");
	assert_int_equal(r->x[2].e.resp_body_bytes, 0);
	assert_false(r->x[2].e.incomplete);
	/* Latency: first request byte to last response byte. */
	assert_int_equal(r->x[0].e.start_ns, 10);
	assert_int_equal(r->x[0].e.end_ns, 20);
	assert_int_equal(r->x[1].e.end_ns, 30);
	assert_true(httpdec_is_http(d));
	httpdec_free(d);
	rec_free(r);
}

static void test_http1_traced_server_sees_requests_inbound(void **state)
{
	struct recorder *r = rec_new();
	struct httpdec *d = dec(r, NULL, false);

	feed(d, 1, "POST /in HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", 1);
	feed(d, 0, "HTTP/1.0 200 OK\r\n\r\nuntil close", 2);
	assert_int_equal(r->n, 0);
	httpdec_close(d, 3);
	assert_int_equal(r->n, 1);
	assert_int_equal(r->x[0].e.client_dir, 1);
	assert_string_equal(r->x[0].proto, "http/1.0");
	assert_int_equal(r->x[0].e.req_body_bytes, 3);
	assert_int_equal(r->x[0].e.resp_body_bytes, 11);
	/* A body that runs until the close is complete; its end is its last byte, not the close. */
	assert_false(r->x[0].e.incomplete);
	assert_int_equal(r->x[0].e.end_ns, 2);
	httpdec_free(d);
	rec_free(r);
}

static void test_http1_unsolicited_response_is_reported_alone(void **state)
{
	struct recorder *r = rec_new();
	struct httpdec *d = dec(r, NULL, false);

	feed(d, 1, "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 5);
	/* Its request may still be on its way (see the next test): the close settles it. */
	assert_int_equal(r->n, 0);
	httpdec_close(d, 6);
	assert_int_equal(r->n, 1);
	assert_string_equal(r->x[0].method, "(null)");
	assert_int_equal(r->x[0].e.status, 408);
	assert_int_equal(r->x[0].e.client_dir, 0);
	assert_true(r->x[0].e.incomplete);
	httpdec_free(d);
	rec_free(r);
}

/*
 * A client whose writer and reader are different threads (Go's transport):
 * the request's write returned, and was stamped, after the response had
 * been read back. The request still pairs with its response.
 */
static void test_http1_response_read_before_its_request_returned(void **state)
{
	struct recorder *r = rec_new();
	struct httpdec *d = dec(r, NULL, false);

	feed(d, 0, "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n", 10);
	feed(d, 1, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 20);
	assert_int_equal(r->n, 1);
	/* The second response, chunked, half read before its request shows up. */
	feed(d, 1, "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n", 30);
	assert_int_equal(r->n, 1);
	feed(d, 0, "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\n", 35);
	assert_int_equal(r->n, 1);
	feed(d, 0, "z", 36);
	assert_int_equal(r->n, 1);
	feed(d, 1, "3\r\nefg\r\n0\r\n\r\n", 40);
	assert_int_equal(r->n, 2);
	/* A third, whole, before its request: it waits, then pairs. */
	feed(d, 1, "HTTP/1.0 204 No Content\r\n\r\n", 50);
	assert_int_equal(r->n, 2);
	feed(d, 0, "DELETE /3 HTTP/1.0\r\n\r\n", 55);
	assert_int_equal(r->n, 3);
	httpdec_close(d, 60);
	assert_int_equal(r->n, 3);

	assert_string_equal(r->x[0].path, "/1");
	assert_int_equal(r->x[0].e.status, 200);
	assert_string_equal(r->x[1].method, "POST");
	assert_string_equal(r->x[1].path, "/2");
	assert_int_equal(r->x[1].e.status, 201);
	assert_int_equal(r->x[1].e.req_body_bytes, 1);
	assert_int_equal(r->x[1].e.resp_body_bytes, 7);
	assert_false(r->x[1].e.incomplete);
	/* It began with its first record, the response's. */
	assert_int_equal(r->x[1].e.start_ns, 30);
	assert_int_equal(r->x[1].e.end_ns, 40);
	assert_string_equal(r->x[2].method, "DELETE");
	assert_string_equal(r->x[2].proto, "http/1.0");
	assert_int_equal(r->x[2].e.status, 204);
	assert_false(r->x[2].e.incomplete);
	httpdec_free(d);
	rec_free(r);
}

/* A response still waiting for its request when the request side loses count is reported alone. */
static void test_http1_response_ahead_of_a_lost_request_is_not_paired_later(void **state)
{
	struct recorder *r = rec_new();
	struct httpdec *d = dec(r, NULL, false);

	feed(d, 0, "GET /1 HTTP/1.1\r\n\r\n", 10);
	feed(d, 1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 20);
	feed(d, 1, "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n", 30);
	assert_int_equal(r->n, 1);
	/* Its request was in the bytes lost. */
	feed(d, 0, "GET /2 HT", 31);
	httpdec_gap(d, 0, 12);
	assert_int_equal(r->n, 2);
	assert_string_equal(r->x[1].method, "(null)");
	assert_int_equal(r->x[1].e.status, 202);
	assert_true(r->x[1].e.incomplete);
	feed(d, 0, "GET /3 HTTP/1.1\r\n\r\n", 40);
	feed(d, 1, "HTTP/1.1 203 Other\r\nContent-Length: 0\r\n\r\n", 50);
	assert_int_equal(r->n, 3);
	assert_string_equal(r->x[2].path, "/3");
	assert_int_equal(r->x[2].e.status, 203);
	/* A switch read back before its request: the request is never decoded. */
	feed(d, 1, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", 60);
	assert_int_equal(r->n, 4);
	assert_int_equal(r->x[3].e.status, 101);
	assert_true(r->x[3].e.incomplete);
	httpdec_free(d);
	rec_free(r);
}

static void test_http1_obs_fold_joins_value_with_one_space(void **state)
{
	struct recorder *r = rec_new();
	struct httpdec *d = dec(r, NULL, false);

	feed(d, 0, "GET / HTTP/1.1\r\nX-Folded: first\r\n  second\r\n\tthird\r\nHost: h\r\n\r\n", 1);
	feed(d, 1, "HTTP/1.1 204 No Content\r\n\r\n", 2);
	assert_int_equal(r->n, 1);
	assert_int_equal(r->x[0].e.n_req_headers, 2);
	assert_string_equal(r->x[0].hdr[0], "X-Folded: first second third");
	assert_string_equal(r->x[0].authority, "h");
	httpdec_free(d);
	rec_free(r);
}

static void test_http1_limits_drop_headers_but_keep_framing(void **state)
{
	struct httpdec_limits lim = { .max_header_bytes = 4096, .max_headers = 2, .body_preview = 4 };
	struct recorder *r = rec_new();
	struct httpdec *d = dec(r, &lim, false);

	feed(d, 0, "POST / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nHost: late\r\nContent-Length: 6\r\n\r\nabcdef", 1);
	feed(d, 1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 2);
	feed(d, 0, "GET /again HTTP/1.1\r\n\r\n", 3);
	feed(d, 1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 4);
	assert_int_equal(r->n, 2);
	assert_int_equal(r->x[0].e.n_req_headers, 2);
	/* Fields past the count limit still frame the message and name the authority. */
	assert_int_equal(r->x[0].e.req_body_bytes, 6);
	assert_string_equal(r->x[0].authority, "late");
	assert_int_equal(r->x[0].req_body_len, 4);
	assert_memory_equal(r->x[0].req_body, "abcd", 4);
	assert_string_equal(r->x[1].path, "/again");
	assert_int_equal(r->nnotes, 1);
	assert_true(has_note(r, "headers over the limits"));
	httpdec_free(d);
	rec_free(r);
}

static void test_http1_line_over_limit_is_not_http(void **state)
{
	struct httpdec_limits lim = { .max_header_bytes = 64 };
	struct recorder *r = rec_new();
	struct httpdec *d = dec(r, &lim, false);
	char big[200];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	feed(d, 0, "GET / HTTP/1.1\r\nX: ", 1);
	feed(d, 0, big, 2);
	assert_false(httpdec_is_http(d));
	assert_true(has_note(r, "not HTTP"));
	/* The request it was reading is reported, incomplete. */
	assert_int_equal(r->n, 1);
	assert_true(r->x[0].e.incomplete);
	httpdec_free(d);
	rec_free(r);
}

static void test_http1_conflicting_content_lengths_are_not_http(void **state)
{
	struct recorder *r = rec_new();
	struct httpdec *d = dec(r, NULL, false);

	feed(d, 0, "POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n", 1);
	assert_false(httpdec_is_http(d));
	httpdec_free(d);
	r->nnotes = 0;
	d = dec(r, NULL, false);
	feed(d, 0, "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 1);
	assert_false(httpdec_is_http(d));
	assert_true(has_note(r, "not HTTP: passing through (request with a transfer coding"));
	httpdec_free(d);
	rec_free(r);
}

static void test_http1_binary_garbage_is_not_http_at_once(void **state)
{
	static const uint8_t hello[] = { 0x16, 0x03, 0x01, 0x00, 0xa5, 0x01 };
	struct recorder *r = rec_new();
	struct httpdec *d = dec(r, NULL, false);

	assert_true(httpdec_is_http(d));	/* undecided */
	httpdec_feed(d, 0, hello, sizeof(hello), 1);
	assert_false(httpdec_is_http(d));
	assert_int_equal(r->nnotes, 1);
	assert_string_equal(r->notes[0], "not HTTP: passing through");
	/* Nothing more, however much comes. */
	feed(d, 0, "GET / HTTP/1.1\r\n\r\n", 2);
	httpdec_close(d, 3);
	assert_int_equal(r->n, 0);
	assert_int_equal(r->nnotes, 1);
	httpdec_free(d);
	rec_free(r);
}

static void test_http1_connect_tunnel_stops_decoding(void **state)
{
	struct recorder *r = rec_new();
	struct httpdec *d = dec(r, NULL, false);

	feed(d, 0, "CONNECT api.example:443 HTTP/1.1\r\nHost: api.example:443\r\n\r\n", 1);
	feed(d, 1, "HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03", 2);
	assert_int_equal(r->n, 1);
	assert_string_equal(r->x[0].path, "api.example:443");
	assert_false(r->x[0].e.incomplete);
	assert_false(httpdec_is_http(d));
	assert_true(has_note(r, "CONNECT tunnel: no longer HTTP/1"));
	httpdec_free(d);
	rec_free(r);
}

static void test_http1_close_reports_pending_requests_incomplete(void **state)
{
	struct recorder *r = rec_new();
	struct httpdec *d = dec(r, NULL, false);

	feed(d, 0, "GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 10\r\n\r\n12345", 1);
	feed(d, 1, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf", 2);
	httpdec_close(d, 9);
	assert_int_equal(r->n, 2);
	assert_int_equal(r->x[0].e.status, 200);
	assert_true(r->x[0].e.incomplete);	/* body cut short */
	assert_int_equal(r->x[0].e.resp_body_bytes, 4);
	assert_int_equal(r->x[1].e.status, 0);
	assert_true(r->x[1].e.incomplete);
	assert_int_equal(r->x[1].e.req_body_bytes, 5);
	httpdec_free(d);
	rec_free(r);
}

static void test_http1_gap_inside_chunk_keeps_sync(void **state)
{
	struct recorder *r = rec_new();
	struct httpdec *d = dec(r, NULL, false);

	feed(d, 0, "GET / HTTP/1.1\r\n\r\n", 1);
	feed(d, 1, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123", 2);
	httpdec_gap(d, 1, 10);
	feed(d, 1, "ef\r\n0\r\n\r\n", 3);
	feed(d, 0, "GET /next HTTP/1.1\r\n\r\n", 4);
	feed(d, 1, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 5);
	assert_int_equal(r->n, 2);
	assert_int_equal(r->x[0].e.resp_body_bytes, 16);
	assert_true(r->x[0].e.incomplete);
	assert_int_equal(r->x[0].resp_body_len, 4);	/* the preview stops at the hole */
	assert_string_equal(r->x[1].path, "/next");
	assert_false(r->x[1].e.incomplete);
	assert_int_equal(r->nnotes, 0);
	httpdec_free(d);
	rec_free(r);
}

static void test_http1_bare_lf_and_leading_crlf_accepted(void **state)
{
	struct recorder *r = rec_new();
	struct httpdec *d = dec(r, NULL, false);

	feed(d, 0, "GET /lf HTTP/1.1\nHost: h\n\n\r\nGET /two HTTP/1.1\r\n\r\n", 1);
	feed(d, 1, "HTTP/1.1 200 OK\nContent-Length: 1\n\nx", 2);
	feed(d, 1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 3);
	assert_int_equal(r->n, 2);
	assert_string_equal(r->x[0].authority, "h");
	assert_string_equal(r->x[1].path, "/two");
	httpdec_free(d);
	rec_free(r);
}

static void test_http1_chunked_trailers_reported(void **state)
{
	struct recorder *r = rec_new();
	struct httpdec *d = dec(r, NULL, false);

	feed(d, 0, "GET / HTTP/1.1\r\n\r\n", 1);
	feed(d, 1, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		   "3\r\nabc\r\n0;last\r\nExpires: never\r\nX-Sum: 9\r\n\r\n", 2);
	assert_int_equal(r->n, 1);
	assert_int_equal(r->x[0].e.n_trailers, 2);
	assert_string_equal(r->x[0].trl[0], "Expires: never");
	assert_string_equal(r->x[0].trl[1], "X-Sum: 9");
	assert_int_equal(r->x[0].e.resp_body_bytes, 3);
	httpdec_free(d);
	rec_free(r);
}

static void test_http1_bad_chunk_size_is_not_http(void **state)
{
	struct recorder *r = rec_new();
	struct httpdec *d = dec(r, NULL, false);

	feed(d, 0, "GET / HTTP/1.1\r\n\r\n", 1);
	feed(d, 1, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 2);
	assert_false(httpdec_is_http(d));
	/* A chunk size that would overflow 64 bits. */
	httpdec_free(d);
	d = dec(r, NULL, false);
	feed(d, 0, "GET / HTTP/1.1\r\n\r\n", 1);
	feed(d, 1, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n11111111111111111\r\n", 2);
	assert_false(httpdec_is_http(d));
	httpdec_free(d);
	rec_free(r);
}

static void test_http1_whitespace_before_colon_rejected(void **state)
{
	struct recorder *r = rec_new();
	struct httpdec *d = dec(r, NULL, false);

	feed(d, 0, "GET / HTTP/1.1\r\nContent-Length : 5\r\n\r\n", 1);
	assert_false(httpdec_is_http(d));
	httpdec_free(d);
	rec_free(r);
}

static void test_http1_midstream_join_pairs_only_after_sync(void **state)
{
	struct recorder *r = rec_new();
	struct httpdec *d = dec(r, NULL, true);

	/* Tail of a request body and of its response: neither is reported. */
	feed(d, 0, "rest of a body GET / HTTP/1.1 inside text", 1);
	feed(d, 1, "ponse body\r\n", 2);
	feed(d, 0, "POST /x HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi", 3);
	feed(d, 1, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 4);
	assert_int_equal(r->n, 1);
	assert_string_equal(r->x[0].path, "/x");
	assert_int_equal(r->x[0].e.status, 200);
	assert_true(has_note(r, "HTTP/1 joined mid-stream"));
	httpdec_free(d);
	rec_free(r);
}

static void test_http1_feed_after_close_ignored(void **state)
{
	struct recorder *r = rec_new();
	struct httpdec *d = dec(r, NULL, false);

	feed(d, 0, "GET / HTTP/1.1\r\n\r\n", 1);
	httpdec_close(d, 2);
	httpdec_close(d, 3);
	feed(d, 1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 4);
	httpdec_gap(d, 1, 5);
	assert_int_equal(r->n, 1);
	assert_int_equal(r->x[0].e.status, 0);
	httpdec_free(d);
	rec_free(r);
}

static void test_http1_scan_finds_start_lines_not_lookalikes(void **state)
{
	static const char body[] = "xxGETaway HTTP/1.1\r\nGET /ok HTTP/1.1\r\n";
	static const char resp[] = "HTTP/1.1 2000 no\r\nHTTP/1.0 404 Not Found\r\n";
	size_t off;

	assert_int_equal(http_scan((const uint8_t *)body, strlen(body), HS_REQ, false, 8192, &off, NULL, NULL), HS_REQ);
	assert_int_equal(off, 20);
	assert_int_equal(http_scan((const uint8_t *)resp, strlen(resp), HS_RESP, false, 8192, &off, NULL, NULL), HS_RESP);
	assert_int_equal(off, 18);
	/* An open candidate holds the scan: nothing before it may be dropped. */
	assert_int_equal(http_scan((const uint8_t *)"zzGET /a HT", 11, HS_REQ, false, 8192, &off, NULL, NULL), 0);
	assert_int_equal(off, 2);
	assert_int_equal(http_scan((const uint8_t *)"zzGET /a HT", 11, HS_REQ, true, 8192, &off, NULL, NULL), 0);
	assert_int_equal(off, 11);
}

static void test_http1_default_limits_bound_line_memory(void **state)
{
	struct recorder *r = rec_new();
	struct httpdec *d = dec(r, NULL, false);
	char *big = malloc(70000);
	size_t i;

	/* A header line that never ends: cut off at 64 KiB, never buffered whole. */
	memset(big, 'b', 69999);
	big[69999] = '\0';
	feed(d, 0, "GET / HTTP/1.1\r\nX: ", 1);
	for (i = 0; i < 20 && httpdec_is_http(d); i++)
		feed(d, 0, big, 2);
	assert_false(httpdec_is_http(d));
	free(big);
	httpdec_free(d);
	rec_free(r);
}

/* ---- Work: bytes trickling in one at a time are looked at a bounded number of times. */

#define TRICKLE_LEN	60000
/* Bytes looked at per byte fed: scans resume where they stopped, never restart per byte. */
#define WORK_PER_BYTE	8

/* prefix, then n copies of unit (cut to n bytes), then suffix; NUL-terminated. */
static char *build(const char *prefix, const char *unit, size_t n, const char *suffix)
{
	size_t lp = strlen(prefix), lu = strlen(unit), ls = strlen(suffix), i;
	char *s = malloc(lp + n + ls + 1);

	assert_non_null(s);
	memcpy(s, prefix, lp);
	for (i = 0; i < n; i++)
		s[lp + i] = unit[i % lu];
	memcpy(s + lp + n, suffix, ls + 1);
	return s;
}

/* Feeds s one byte per call, as one byte per TLS record would arrive. Returns the bytes fed. */
static size_t trickle(struct httpdec *d, int dir, const char *s, uint64_t ts)
{
	size_t n = strlen(s), i;

	for (i = 0; i < n; i++)
		httpdec_feed(d, dir, (const uint8_t *)s + i, 1, ts);
	return n;
}

static void test_http1_long_lines_fed_bytewise_cost_linear_work(void **state)
{
	static const struct {
		const char *what, *head, *prefix, *unit, *suffix, *then;
		int dir;	/* of the trickled message */
		const char *method, *path;	/* of the last exchange, as recorded */
		int status;
	} cases[] = {
		{ "long method token", "GET / HTTP/1.1\r\n\r\n", "", "A", " /m HTTP/1.1\r\n\r\n",
		  "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", 0,
		  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "/m", 204 },
		{ "long request target", "", "GET /", "a", " HTTP/1.1\r\n\r\n",
		  "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, "GET", NULL, 200 },
		{ "long status line", "GET /s HTTP/1.1\r\n\r\n", "HTTP/1.1 200 ", "O",
		  "\r\nContent-Length: 0\r\n\r\n", "", 1, "GET", "/s", 200 },
		{ "long header value", "", "GET /h HTTP/1.1\r\nX-Long: ", "v", "\r\n\r\n",
		  "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, "GET", "/h", 200 },
		{ "many header lines", "", "GET /many HTTP/1.1\r\n", "A: b\r\n", "\r\n",
		  "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, "GET", "/many", 200 },
		{ "long chunk-size line", "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "",
		  "0", "5\r\nhello\r\n0\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0,
		  "POST", "/c", 200 },
	};
	size_t k, fed;

	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct recorder *r = rec_new();
		struct httpdec *d = dec(r, NULL, false);
		char *msg = build(cases[k].prefix, cases[k].unit, TRICKLE_LEN, cases[k].suffix);
		const char *then = cases[k].then;
		uint64_t work;

		/* The request of a trickled response goes first; a trickled request's response after. */
		feed(d, 0, cases[k].head, 1);
		fed = strlen(cases[k].head);
		fed += trickle(d, cases[k].dir, msg, 2);
		feed(d, 1, then, 3);
		fed += strlen(then);
		work = httpdec_work(d);
		print_message("%s: %zu bytes fed, %llu looked at\n", cases[k].what, fed,
			      (unsigned long long)work);
		if (work > WORK_PER_BYTE * (uint64_t)fed)
			fail_msg("%s: %llu bytes looked at for %zu fed", cases[k].what,
				 (unsigned long long)work, fed);
		/* Still decoding, and right. */
		assert_true(httpdec_is_http(d));
		assert_true(r->n >= 1);
		assert_string_equal(r->x[r->n - 1].method, cases[k].method);
		if (cases[k].path)
			assert_string_equal(r->x[r->n - 1].path, cases[k].path);
		assert_int_equal(r->x[r->n - 1].e.status, cases[k].status);
		if (!strcmp(cases[k].method, "POST"))
			assert_int_equal(r->x[r->n - 1].e.req_body_bytes, 5);
		free(msg);
		httpdec_free(d);
		rec_free(r);
	}
}

static void test_http1_lookalike_lines_while_resyncing_cost_linear_work(void **state)
{
	struct recorder *r = rec_new();
	struct httpdec *d = dec(r, NULL, true);
	/* Each "GET " could start a request line until its line ends (after 8 KiB it cannot). */
	char *junk = build("", "GET ", TRICKLE_LEN, "\r\n");
	uint64_t work;
	size_t fed = 0;

	/* Joined mid-stream: the first start line is searched for in what was held. */
	fed += trickle(d, 0, junk, 1);
	feed(d, 0, "GET /first HTTP/1.1\r\n\r\n", 1);
	feed(d, 1, "HTTP/1.1 204 No Content\r\n\r\n", 2);
	fed += strlen("GET /first HTTP/1.1\r\n\r\n") + strlen("HTTP/1.1 204 No Content\r\n\r\n");
	assert_int_equal(r->n, 1);
	assert_string_equal(r->x[0].path, "/first");
	/* A gap: the HTTP/1 parser resynchronises, scanning what comes next as it arrives. */
	httpdec_gap(d, 0, 100);
	fed += trickle(d, 0, junk, 3);
	feed(d, 0, "GET /again HTTP/1.1\r\n\r\n", 4);
	feed(d, 1, "HTTP/1.1 204 No Content\r\n\r\n", 5);
	fed += strlen("GET /again HTTP/1.1\r\n\r\n") + strlen("HTTP/1.1 204 No Content\r\n\r\n");
	work = httpdec_work(d);
	print_message("resync: %zu bytes fed, %llu looked at\n", fed, (unsigned long long)work);
	if (work > WORK_PER_BYTE * (uint64_t)fed)
		fail_msg("%llu bytes looked at for %zu fed", (unsigned long long)work, fed);
	assert_true(httpdec_is_http(d));
	assert_int_equal(r->n, 2);
	assert_string_equal(r->x[1].path, "/again");
	free(junk);
	httpdec_free(d);
	rec_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http1_pipelined_responses_pair_in_request_order),
		cmocka_unit_test(test_http1_traced_server_sees_requests_inbound),
		cmocka_unit_test(test_http1_unsolicited_response_is_reported_alone),
		cmocka_unit_test(test_http1_response_read_before_its_request_returned),
		cmocka_unit_test(test_http1_response_ahead_of_a_lost_request_is_not_paired_later),
		cmocka_unit_test(test_http1_obs_fold_joins_value_with_one_space),
		cmocka_unit_test(test_http1_limits_drop_headers_but_keep_framing),
		cmocka_unit_test(test_http1_line_over_limit_is_not_http),
		cmocka_unit_test(test_http1_conflicting_content_lengths_are_not_http),
		cmocka_unit_test(test_http1_binary_garbage_is_not_http_at_once),
		cmocka_unit_test(test_http1_connect_tunnel_stops_decoding),
		cmocka_unit_test(test_http1_close_reports_pending_requests_incomplete),
		cmocka_unit_test(test_http1_gap_inside_chunk_keeps_sync),
		cmocka_unit_test(test_http1_bare_lf_and_leading_crlf_accepted),
		cmocka_unit_test(test_http1_chunked_trailers_reported),
		cmocka_unit_test(test_http1_bad_chunk_size_is_not_http),
		cmocka_unit_test(test_http1_whitespace_before_colon_rejected),
		cmocka_unit_test(test_http1_midstream_join_pairs_only_after_sync),
		cmocka_unit_test(test_http1_feed_after_close_ignored),
		cmocka_unit_test(test_http1_scan_finds_start_lines_not_lookalikes),
		cmocka_unit_test(test_http1_default_limits_bound_line_memory),
		cmocka_unit_test(test_http1_long_lines_fed_bytewise_cost_linear_work),
		cmocka_unit_test(test_http1_lookalike_lines_while_resyncing_cost_linear_work),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
