/* Unit tests of the flow table: ordering, gaps, snaplen, closes, eviction, hostile records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "flows.h"

/* ---- A recorder: every callback, in order, checked against its own cursor per stream. */

enum kind { K_OPEN, K_DATA, K_GAP, K_CLOSE };

struct logged {
	enum kind kind;
	__u64 conn;
	__u32 pid;
	int dir;
	__u64 pos, len;
	int why;		/* gap or close reason */
};

struct stream {
	__u64 conn;
	int dir;
	unsigned char *bytes;	/* everything delivered, in callback order */
	size_t len, cap;
	__u64 cursor;		/* where the next data or gap must start */
};

struct recorder {
	struct logged *log;
	size_t n, cap;
	struct stream s[16];
	int ns;
	int violations;		/* callbacks that broke the contract */
	char first_violation[256];
};

static void violation(struct recorder *r, const char *fmt, ...)
{
	va_list ap;

	if (!r->violations++) {
		va_start(ap, fmt);
		vsnprintf(r->first_violation, sizeof(r->first_violation), fmt, ap);
		va_end(ap);
	}
}

static void push(struct recorder *r, struct logged l)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 256;
		r->log = realloc(r->log, r->cap * sizeof(*r->log));
		assert_non_null(r->log);
	}
	r->log[r->n++] = l;
}

static struct stream *stream_of(struct recorder *r, __u64 conn, int dir)
{
	int i;

	for (i = 0; i < r->ns; i++)
		if (r->s[i].conn == conn && r->s[i].dir == dir)
			return &r->s[i];
	assert_true(r->ns < 16);
	memset(&r->s[r->ns], 0, sizeof(r->s[0]));
	r->s[r->ns].conn = conn;
	r->s[r->ns].dir = dir;
	return &r->s[r->ns++];
}

static void rec_open(void *ctx, const struct flow *f)
{
	push(ctx, (struct logged){ .kind = K_OPEN, .conn = f->conn_id, .pid = f->pid });
}

static void rec_data(void *ctx, const struct flow *f, const struct tlstap_data_event *ev)
{
	struct recorder *r = ctx;
	struct stream *s = stream_of(r, ev->conn_id, ev->dir);

	if (ev->conn_id != f->conn_id)
		violation(r, "data of conn %llu on flow %llu", (unsigned long long)ev->conn_id,
			  (unsigned long long)f->conn_id);
	if (ev->pos != s->cursor || ev->pos != f->s[ev->dir].next)
		violation(r, "conn %llu dir %d: data at %llu, expected %llu (flow next %llu)",
			  (unsigned long long)ev->conn_id, ev->dir, (unsigned long long)ev->pos,
			  (unsigned long long)s->cursor, (unsigned long long)f->s[ev->dir].next);
	if (ev->len == 0)
		violation(r, "empty data callback");
	if (s->len + ev->len > s->cap) {
		s->cap = (s->len + ev->len) * 2;
		s->bytes = realloc(s->bytes, s->cap);
		assert_non_null(s->bytes);
	}
	memcpy(s->bytes + s->len, ev->data, ev->len);
	s->len += ev->len;
	s->cursor = ev->pos + ev->len;
	push(r, (struct logged){ .kind = K_DATA, .conn = ev->conn_id, .pid = ev->pid,
				 .dir = ev->dir, .pos = ev->pos, .len = ev->len });
}

static void rec_gap(void *ctx, const struct flow *f, int dir, __u64 pos, __u64 len,
		    enum gap_reason why)
{
	struct recorder *r = ctx;
	struct stream *s = stream_of(r, f->conn_id, dir);

	if (pos != s->cursor || len == 0)
		violation(r, "conn %llu dir %d: gap at %llu+%llu, expected at %llu",
			  (unsigned long long)f->conn_id, dir, (unsigned long long)pos,
			  (unsigned long long)len, (unsigned long long)s->cursor);
	s->cursor = pos + len;
	push(r, (struct logged){ .kind = K_GAP, .conn = f->conn_id, .pid = f->pid, .dir = dir,
				 .pos = pos, .len = len, .why = why });
}

static void rec_close(void *ctx, const struct flow *f, enum close_reason why)
{
	push(ctx, (struct logged){ .kind = K_CLOSE, .conn = f->conn_id, .pid = f->pid,
				   .why = why });
}

static const struct flow_callbacks rec_cb = {
	.on_open = rec_open,
	.on_data = rec_data,
	.on_gap = rec_gap,
	.on_close = rec_close,
};

static void rec_free(struct recorder *r)
{
	while (r->ns > 0)
		free(r->s[--r->ns].bytes);
	free(r->log);
	memset(r, 0, sizeof(*r));
}

static size_t count(const struct recorder *r, enum kind kind)
{
	size_t i, n = 0;

	for (i = 0; i < r->n; i++)
		n += r->log[i].kind == kind;
	return n;
}

static void assert_no_violation(const struct recorder *r)
{
	if (r->violations)
		fail_msg("%d contract violations, first: %s", r->violations, r->first_violation);
}

/* The end of a test: no callback broke the contract; the table and recorder go. */
static void end_checked(struct flow_table *ft, struct recorder *r)
{
	assert_no_violation(r);
	flows_free(ft);
	rec_free(r);
}

/* ---- Records, built exactly as the BPF side lays them out. */

/* A reference stream: byte i of stream `seed` is a hash of both. */
static __u8 ref_byte(__u64 seed, __u64 i)
{
	__u64 x = (i + 1) * 0x9E3779B97F4A7C15ull ^ seed * 0xD1B54A32D192ED03ull;

	x ^= x >> 29;
	x *= 0xBF58476D1CE4E5B9ull;
	return (__u8)(x >> 32);
}

struct chunk {
	__u64 conn;
	__u32 pid;
	int dir;
	__u64 pos;
	__u32 len;
	__u32 skipped;
	const __u8 *data;	/* NULL: the reference stream of (conn, dir) */
};

static void *make_data(const struct chunk *c, size_t *size)
{
	struct tlstap_data_event *ev;
	__u32 i;

	*size = sizeof(*ev) + c->len;
	ev = calloc(1, *size);
	assert_non_null(ev);
	ev->type = TLSTAP_EV_DATA;
	ev->dir = (__u8)c->dir;
	ev->func_id = c->dir ? 1 : 0;
	ev->pid = c->pid ? c->pid : 100;
	ev->tid = ev->pid;
	ev->fd = 3;
	ev->conn_id = c->conn;
	ev->pos = c->pos;
	ev->len = c->len;
	ev->skipped = c->skipped;
	ev->ts_ns = 1000 + c->pos;
	snprintf(ev->comm, sizeof(ev->comm), "test");
	for (i = 0; i < c->len; i++)
		ev->data[i] = c->data ? c->data[i] : ref_byte(c->conn * 2 + c->dir, c->pos + i);
	return ev;
}

/* Feeds one record; the ring record must come back unmodified. */
static int feed_rec(struct flow_table *ft, const void *rec, size_t size)
{
	void *copy = malloc(size);
	int err;

	assert_non_null(copy);
	memcpy(copy, rec, size);
	err = flows_record(ft, rec, size);
	assert_memory_equal(copy, rec, size);
	free(copy);
	return err;
}

static int feed(struct flow_table *ft, __u64 conn, int dir, __u64 pos, __u32 len)
{
	struct chunk c = { .conn = conn, .dir = dir, .pos = pos, .len = len };
	size_t size;
	void *ev = make_data(&c, &size);
	int err = feed_rec(ft, ev, size);

	free(ev);
	return err;
}

static int feed_chunk(struct flow_table *ft, const struct chunk *c)
{
	size_t size;
	void *ev = make_data(c, &size);
	int err = feed_rec(ft, ev, size);

	free(ev);
	return err;
}

static int feed_close(struct flow_table *ft, __u32 pid, __u64 conn, __u64 end_out, __u64 end_in)
{
	struct tlstap_ctrl_event ev = {
		.type = TLSTAP_EV_CLOSE, .pid = pid, .conn_id = conn,
		.end_pos = { end_out, end_in },
	};

	return feed_rec(ft, &ev, sizeof(ev));
}

static int feed_exit(struct flow_table *ft, __u32 pid)
{
	struct tlstap_ctrl_event ev = { .type = TLSTAP_EV_EXIT, .pid = pid };

	return feed_rec(ft, &ev, sizeof(ev));
}

/* The delivered bytes of (conn, dir) are exactly the reference stream's [0, len). */
static void assert_stream_is_ref(struct recorder *r, __u64 conn, int dir, size_t len)
{
	struct stream *s = stream_of(r, conn, dir);
	size_t i;

	assert_int_equal(s->len, len);
	for (i = 0; i < len; i++)
		if (s->bytes[i] != ref_byte(conn * 2 + dir, i))
			fail_msg("conn %llu dir %d: byte %zu differs", (unsigned long long)conn, dir, i);
}

static void assert_logged(const struct logged *l, enum kind kind, __u64 conn, int dir, __u64 pos,
			  __u64 len)
{
	assert_int_equal(l->kind, kind);
	assert_int_equal(l->conn, conn);
	assert_int_equal(l->dir, dir);
	assert_int_equal(l->pos, pos);
	assert_int_equal(l->len, len);
}

/* ---- Tests */

static void test_flows_in_order_delivered_as_is(void **state)
{
	struct recorder r = { 0 };
	struct flow_table *ft = flows_new(&rec_cb, &r, 16);
	const struct flow_stats *st;

	assert_non_null(ft);
	assert_int_equal(feed(ft, 1, TLSTAP_DIR_OUT, 0, 100), 0);
	assert_int_equal(feed(ft, 1, TLSTAP_DIR_IN, 0, 7), 0);
	assert_int_equal(feed(ft, 1, TLSTAP_DIR_OUT, 100, 1), 0);
	assert_int_equal(feed(ft, 1, TLSTAP_DIR_OUT, 101, 16384), 0);
	assert_int_equal(feed(ft, 1, TLSTAP_DIR_IN, 7, 3), 0);
	/* Delivered at once, no sweep needed. */
	assert_int_equal(r.n, 6);
	assert_int_equal(r.log[0].kind, K_OPEN);
	assert_int_equal(r.log[0].conn, 1);
	assert_int_equal(r.log[0].pid, 100);
	assert_logged(&r.log[1], K_DATA, 1, 0, 0, 100);
	assert_logged(&r.log[2], K_DATA, 1, 1, 0, 7);
	assert_logged(&r.log[3], K_DATA, 1, 0, 100, 1);
	assert_logged(&r.log[4], K_DATA, 1, 0, 101, 16384);
	assert_logged(&r.log[5], K_DATA, 1, 1, 7, 3);
	flows_sweep(ft);
	flows_sweep(ft);
	flows_finish(ft);
	assert_stream_is_ref(&r, 1, 0, 16485);
	assert_stream_is_ref(&r, 1, 1, 10);
	assert_int_equal(count(&r, K_GAP), 0);
	assert_int_equal(count(&r, K_CLOSE), 1);
	assert_int_equal(r.log[r.n - 1].why, CLOSE_END);
	st = flows_stats(ft);
	assert_int_equal(st->flows, 1);
	assert_int_equal(st->gaps, 0);
	assert_int_equal(st->lost_bytes, 0);
	assert_int_equal(st->dup_bytes, 0);
	assert_int_equal(st->bad_records, 0);
	end_checked(ft, &r);
}

/* pos 10 first, then pos 0 before the next sweep: in order, no gap. */
static void test_flows_out_of_order_within_sweep_no_gap(void **state)
{
	struct recorder r = { 0 };
	struct flow_table *ft = flows_new(&rec_cb, &r, 16);

	assert_int_equal(feed(ft, 1, 0, 10, 10), 0);
	assert_int_equal(count(&r, K_DATA), 0);	/* held back */
	flows_sweep(ft);
	assert_int_equal(count(&r, K_DATA), 0);
	assert_int_equal(count(&r, K_GAP), 0);
	assert_int_equal(feed(ft, 1, 0, 0, 10), 0);
	assert_int_equal(count(&r, K_DATA), 2);
	assert_logged(&r.log[1], K_DATA, 1, 0, 0, 10);
	assert_logged(&r.log[2], K_DATA, 1, 0, 10, 10);
	flows_sweep(ft);
	flows_sweep(ft);
	flows_finish(ft);
	assert_stream_is_ref(&r, 1, 0, 20);
	assert_int_equal(count(&r, K_GAP), 0);
	assert_int_equal(flows_stats(ft)->gaps, 0);
	end_checked(ft, &r);

	/* Three chunks in reverse order within one pass. */
	memset(&r, 0, sizeof(r));
	ft = flows_new(&rec_cb, &r, 16);
	assert_int_equal(feed(ft, 2, 1, 20, 5), 0);
	assert_int_equal(feed(ft, 2, 1, 10, 10), 0);
	assert_int_equal(feed(ft, 2, 1, 0, 10), 0);
	assert_int_equal(count(&r, K_DATA), 3);
	flows_finish(ft);
	assert_stream_is_ref(&r, 2, 1, 25);
	assert_int_equal(count(&r, K_GAP), 0);
	end_checked(ft, &r);
}

/* A chunk still missing a full sweep after a later one came: one gap, then the later data. */
static void test_flows_missing_for_full_sweep_is_one_lost_gap(void **state)
{
	struct recorder r = { 0 };
	struct flow_table *ft = flows_new(&rec_cb, &r, 16);
	const struct flow_stats *st = flows_stats(ft);
	const struct logged *l;

	assert_int_equal(feed(ft, 1, 0, 0, 10), 0);
	assert_int_equal(feed(ft, 1, 0, 25, 5), 0);	/* 10..25 missing */
	assert_int_equal(feed(ft, 1, 0, 30, 8), 0);
	flows_sweep(ft);	/* the pass the later chunk came in: may still come */
	assert_int_equal(count(&r, K_GAP), 0);
	assert_int_equal(count(&r, K_DATA), 1);
	flows_sweep(ft);	/* a full pass later: lost */
	assert_int_equal(count(&r, K_GAP), 1);
	assert_int_equal(count(&r, K_DATA), 3);
	l = &r.log[r.n - 3];
	assert_logged(l, K_GAP, 1, 0, 10, 15);
	assert_int_equal(l->why, GAP_LOST);
	assert_logged(&r.log[r.n - 2], K_DATA, 1, 0, 25, 5);
	assert_logged(&r.log[r.n - 1], K_DATA, 1, 0, 30, 8);
	assert_int_equal(st->gaps, 1);
	assert_int_equal(st->lost_bytes, 15);

	/* The straggler, too late: dropped as already accounted for, nothing delivered. */
	assert_int_equal(feed(ft, 1, 0, 10, 15), 0);
	assert_int_equal(count(&r, K_DATA), 3);
	assert_int_equal(st->dup_bytes, 15);

	/* Data continues after the gap. */
	assert_int_equal(feed(ft, 1, 0, 38, 2), 0);
	assert_logged(&r.log[r.n - 1], K_DATA, 1, 0, 38, 2);
	flows_finish(ft);
	assert_int_equal(r.log[r.n - 1].kind, K_CLOSE);
	assert_int_equal(st->gaps, 1);
	end_checked(ft, &r);
}

static void test_flows_snaplen_skipped_is_exact_snaplen_gap(void **state)
{
	struct recorder r = { 0 };
	struct flow_table *ft = flows_new(&rec_cb, &r, 16);
	const struct flow_stats *st = flows_stats(ft);
	struct chunk c = { .conn = 5, .dir = 1, .pos = 0, .len = 64, .skipped = 936 };

	assert_int_equal(feed_chunk(ft, &c), 0);
	assert_int_equal(r.n, 3);
	assert_logged(&r.log[1], K_DATA, 5, 1, 0, 64);
	assert_logged(&r.log[2], K_GAP, 5, 1, 64, 936);
	assert_int_equal(r.log[2].why, GAP_SNAPLEN);
	/* The next call's chunk starts after the skipped bytes: delivered at once. */
	assert_int_equal(feed(ft, 5, 1, 1000, 10), 0);
	assert_int_equal(r.n, 4);
	assert_logged(&r.log[3], K_DATA, 5, 1, 1000, 10);
	flows_sweep(ft);
	flows_sweep(ft);
	flows_finish(ft);
	assert_int_equal(count(&r, K_GAP), 1);
	assert_int_equal(st->snap_bytes, 936);
	assert_int_equal(st->lost_bytes, 0);
	assert_int_equal(st->gaps, 1);
	end_checked(ft, &r);
}

/* A close reaching past what was delivered: a tail gap, and the close only after a full pass. */
static void test_flows_close_tail_gap_and_deferred_close(void **state)
{
	struct recorder r = { 0 };
	struct flow_table *ft = flows_new(&rec_cb, &r, 16);
	const struct flow_stats *st = flows_stats(ft);
	size_t n;

	assert_int_equal(feed(ft, 9, 0, 0, 10), 0);
	assert_int_equal(feed(ft, 9, 1, 0, 5), 0);
	assert_int_equal(feed_close(ft, 100, 9, 30, 5), 0);
	assert_int_equal(count(&r, K_CLOSE), 0);
	flows_sweep(ft);	/* the close's own pass: data from other CPUs may follow */
	assert_int_equal(count(&r, K_CLOSE), 0);
	/* ... and does: it fills part of what the close says was sent. */
	assert_int_equal(feed(ft, 9, 0, 10, 8), 0);
	assert_int_equal(count(&r, K_CLOSE), 0);
	flows_sweep(ft);
	assert_int_equal(count(&r, K_CLOSE), 1);
	n = r.n;
	assert_logged(&r.log[n - 2], K_GAP, 9, 0, 18, 12);
	assert_int_equal(r.log[n - 2].why, GAP_LOST);
	assert_int_equal(r.log[n - 1].kind, K_CLOSE);
	assert_int_equal(r.log[n - 1].conn, 9);
	assert_int_equal(r.log[n - 1].why, CLOSE_FD);
	assert_int_equal(count(&r, K_GAP), 1);	/* dir in reached its end: no gap there */
	assert_int_equal(st->lost_bytes, 12);
	flows_finish(ft);
	assert_int_equal(count(&r, K_CLOSE), 1);
	assert_stream_is_ref(&r, 9, 0, 18);
	assert_stream_is_ref(&r, 9, 1, 5);
	end_checked(ft, &r);
}

/* A close of a connection never seen, and one whose end is unknown: no effect, no gap. */
static void test_flows_close_unknown_conn_or_end_is_harmless(void **state)
{
	struct recorder r = { 0 };
	struct flow_table *ft = flows_new(&rec_cb, &r, 16);

	assert_int_equal(feed(ft, 1, 0, 0, 10), 0);
	assert_int_equal(feed_close(ft, 100, 77, 1000, 1000), 0);
	assert_int_equal(feed_close(ft, 100, 1, UINT64_MAX, UINT64_MAX), 0);
	flows_sweep(ft);
	flows_sweep(ft);
	assert_int_equal(count(&r, K_CLOSE), 1);
	assert_int_equal(r.log[r.n - 1].conn, 1);
	assert_int_equal(count(&r, K_GAP), 0);
	flows_finish(ft);
	end_checked(ft, &r);
}

static void test_flows_exit_closes_only_that_pids_flows(void **state)
{
	struct recorder r = { 0 };
	struct flow_table *ft = flows_new(&rec_cb, &r, 16);
	struct chunk c = { .dir = 0, .pos = 0, .len = 4 };
	size_t i, closed_exit = 0;

	c.conn = 1, c.pid = 100;
	assert_int_equal(feed_chunk(ft, &c), 0);
	c.conn = 2, c.pid = 200;
	assert_int_equal(feed_chunk(ft, &c), 0);
	c.conn = 3, c.pid = 100;
	assert_int_equal(feed_chunk(ft, &c), 0);
	assert_int_equal(feed_exit(ft, 100), 0);
	flows_sweep(ft);
	assert_int_equal(count(&r, K_CLOSE), 0);
	flows_sweep(ft);
	for (i = 0; i < r.n; i++) {
		if (r.log[i].kind != K_CLOSE)
			continue;
		assert_int_equal(r.log[i].why, CLOSE_EXIT);
		assert_int_equal(r.log[i].pid, 100);
		assert_true(r.log[i].conn == 1 || r.log[i].conn == 3);
		closed_exit++;
	}
	assert_int_equal(closed_exit, 2);
	flows_finish(ft);
	assert_int_equal(count(&r, K_CLOSE), 3);
	assert_int_equal(r.log[r.n - 1].conn, 2);
	assert_int_equal(r.log[r.n - 1].why, CLOSE_END);
	end_checked(ft, &r);
}

/* Duplicates and overlaps, in order and while waiting: no byte delivered twice or lost. */
static void test_flows_overlaps_trimmed_and_counted(void **state)
{
	struct recorder r = { 0 };
	struct flow_table *ft = flows_new(&rec_cb, &r, 16);
	const struct flow_stats *st = flows_stats(ft);

	assert_int_equal(feed(ft, 1, 0, 0, 100), 0);
	assert_int_equal(feed(ft, 1, 0, 50, 100), 0);	/* half old */
	assert_logged(&r.log[r.n - 1], K_DATA, 1, 0, 100, 50);
	assert_int_equal(st->dup_bytes, 50);
	assert_int_equal(feed(ft, 1, 0, 0, 50), 0);	/* all old */
	assert_int_equal(feed(ft, 1, 0, 149, 1), 0);	/* the last byte again */
	assert_int_equal(count(&r, K_DATA), 2);
	assert_int_equal(st->dup_bytes, 101);

	/* Waiting chunks that overlap each other. */
	assert_int_equal(feed(ft, 1, 0, 170, 30), 0);
	assert_int_equal(feed(ft, 1, 0, 160, 30), 0);
	assert_int_equal(feed(ft, 1, 0, 210, 10), 0);
	assert_int_equal(feed(ft, 1, 0, 210, 10), 0);	/* twice the same */
	assert_int_equal(feed(ft, 1, 0, 200, 10), 0);
	assert_int_equal(count(&r, K_DATA), 2);
	assert_int_equal(feed(ft, 1, 0, 150, 10), 0);	/* fills the hole */
	assert_int_equal(st->dup_bytes, 101 + 20 + 10);
	flows_finish(ft);
	assert_stream_is_ref(&r, 1, 0, 220);
	assert_int_equal(count(&r, K_GAP), 0);
	end_checked(ft, &r);
}

/* One malformed record: refused, counted, and nothing else happens. */
static void reject(struct flow_table *ft, const void *rec, size_t size, __u64 *bad)
{
	assert_int_equal(flows_record(ft, rec, size), -EINVAL);
	(*bad)++;
	assert_int_equal(flows_stats(ft)->bad_records, *bad);
}

static void test_flows_malformed_records_rejected(void **state)
{
	struct recorder r = { 0 };
	struct flow_table *ft = flows_new(&rec_cb, &r, 16);
	struct chunk c = { .conn = 1, .dir = 0, .pos = 0, .len = 10 };
	struct tlstap_data_event *ev;
	struct tlstap_ctrl_event ctrl = { .type = TLSTAP_EV_CLOSE, .conn_id = 1 };
	unsigned char *shortbuf;
	size_t size;
	__u64 bad = 0;

	ev = make_data(&c, &size);

	/* Shorter than the header: given a buffer of exactly that size (ASan watches). */
	shortbuf = malloc(sizeof(*ev) - 1);
	assert_non_null(shortbuf);
	memcpy(shortbuf, ev, sizeof(*ev) - 1);
	reject(ft, shortbuf, sizeof(*ev) - 1, &bad);
	reject(ft, shortbuf, 1, &bad);
	reject(ft, shortbuf, 0, &bad);
	free(shortbuf);

	/* len larger than the bytes that follow. */
	reject(ft, ev, size - 1, &bad);
	ev->len = 11;
	reject(ft, ev, size, &bad);
	ev->len = 10;
	/* No such direction. */
	ev->dir = 2;
	reject(ft, ev, size, &bad);
	ev->dir = 255;
	reject(ft, ev, size, &bad);
	ev->dir = 0;
	/* Unknown types. */
	ev->type = 0;
	reject(ft, ev, size, &bad);
	ev->type = 4;
	reject(ft, ev, size, &bad);
	ev->type = 0xffff;
	reject(ft, ev, size, &bad);
	ev->type = TLSTAP_EV_DATA;
	/* A position no stream can reach: would overflow pos + len. */
	ev->pos = UINT64_MAX - 5;
	reject(ft, ev, size, &bad);
	ev->pos = 0;
	/* A control record cut short. */
	reject(ft, &ctrl, sizeof(ctrl) - 1, &bad);
	ctrl.type = TLSTAP_EV_EXIT;
	reject(ft, &ctrl, 4, &bad);
	free(ev);

	/* A chunk larger than BPF ever writes. */
	c.len = TLSTAP_CHUNK_MAX + 1;
	ev = make_data(&c, &size);
	reject(ft, ev, size, &bad);
	free(ev);

	assert_int_equal(flows_stats(ft)->bad_records, bad);
	assert_int_equal(flows_stats(ft)->flows, 0);
	assert_int_equal(r.n, 0);	/* no callback at all */

	/* Afterwards, a good record still works. */
	c.len = 10;
	assert_int_equal(feed_chunk(ft, &c), 0);
	assert_int_equal(count(&r, K_DATA), 1);
	flows_finish(ft);
	assert_int_equal(flows_stats(ft)->bad_records, bad);
	end_checked(ft, &r);
}

/* Room for two flows: a third closes the least recently active, resolving what it held. */
static void test_flows_eviction_closes_least_recent(void **state)
{
	struct recorder r = { 0 };
	struct flow_table *ft = flows_new(&rec_cb, &r, 2);
	size_t n;

	assert_int_equal(feed(ft, 1, 0, 0, 10), 0);
	assert_int_equal(feed(ft, 2, 0, 0, 10), 0);
	assert_int_equal(feed(ft, 2, 0, 20, 5), 0);	/* waits for 10..20 */
	assert_int_equal(feed(ft, 1, 0, 10, 10), 0);	/* 1 is now the most recent */
	assert_int_equal(count(&r, K_CLOSE), 0);
	assert_int_equal(feed(ft, 3, 0, 0, 10), 0);
	assert_int_equal(count(&r, K_CLOSE), 1);
	assert_int_equal(flows_stats(ft)->evicted, 1);
	/* Flow 2's waiting chunk is not silently dropped: a gap, the data, then the close. */
	n = r.n;
	assert_int_equal(r.log[n - 2].kind, K_OPEN);
	assert_int_equal(r.log[n - 2].conn, 3);
	assert_logged(&r.log[n - 1], K_DATA, 3, 0, 0, 10);
	n -= 2;	/* open(3) and its data come after the eviction */
	assert_int_equal(r.log[n - 1].kind, K_CLOSE);
	assert_int_equal(r.log[n - 1].conn, 2);
	assert_int_equal(r.log[n - 1].why, CLOSE_EVICTED);
	assert_logged(&r.log[n - 2], K_DATA, 2, 0, 20, 5);
	assert_logged(&r.log[n - 3], K_GAP, 2, 0, 10, 10);
	flows_finish(ft);
	assert_int_equal(count(&r, K_CLOSE), 3);
	assert_int_equal(flows_stats(ft)->flows, 3);
	end_checked(ft, &r);
}

/* An evicted flow seen again goes on from its positions: no fake gap from 0. */
static void test_flows_evicted_flow_seen_again_goes_on_without_a_fake_gap(void **state)
{
	struct recorder r = { 0 };
	struct flow_table *ft = flows_new(&rec_cb, &r, 1);

	assert_int_equal(feed(ft, 1, 0, 0, 10), 0);
	assert_int_equal(feed(ft, 1, 1, 0, 7), 0);
	assert_int_equal(feed(ft, 2, 0, 0, 10), 0);	/* evicts 1 */
	assert_int_equal(flows_stats(ft)->evicted, 1);
	assert_int_equal(feed(ft, 1, 0, 10, 10), 0);	/* evicts 2, 1 comes back */
	assert_int_equal(feed(ft, 1, 1, 7, 3), 0);
	assert_int_equal(flows_stats(ft)->resumed, 1);
	flows_finish(ft);
	assert_int_equal(count(&r, K_GAP), 0);
	assert_int_equal(flows_stats(ft)->lost_bytes, 0);
	assert_int_equal(stream_of(&r, 1, 0)->len, 20);
	assert_int_equal(stream_of(&r, 1, 1)->len, 10);
	end_checked(ft, &r);
}

static void note_end(struct flow_table *ft, __u64 conn, __u32 pid, __u64 out, __u64 in)
{
	struct tlstap_data_event meta = { .type = TLSTAP_EV_DATA, .conn_id = conn, .pid = pid };
	__u64 end[2] = { out, in };

	flows_note_end(ft, &meta, end);
}

/*
 * Where the BPF side says the streams got to: what never arrived is a gap
 * when the process exits or tlstap stops, also for a connection none of
 * whose records arrived; an end that is not believable is ignored.
 */
static void test_flows_noted_end_makes_the_missing_tail_a_gap(void **state)
{
	struct recorder r = { 0 };
	struct flow_table *ft = flows_new(&rec_cb, &r, 16);
	struct chunk other = { .conn = 2, .pid = 200, .dir = 1, .pos = 0, .len = 4 };

	assert_int_equal(feed(ft, 1, 0, 0, 10), 0);	/* pid 100 */
	assert_int_equal(feed_chunk(ft, &other), 0);
	note_end(ft, 1, 100, 30, 5);
	note_end(ft, 2, 200, 0, 4);			/* nothing missing */
	note_end(ft, 3, 100, 0, 50);			/* no record of it arrived */
	note_end(ft, 4, 100, 1ull << 63, 0);		/* not believed */
	assert_int_equal(feed_exit(ft, 100), 0);
	flows_sweep(ft);
	flows_sweep(ft);
	/* Process 100's flows ended with their tails as gaps. */
	assert_int_equal(flows_stats(ft)->lost_bytes, 20 + 5 + 50);
	assert_int_equal(stream_of(&r, 1, 0)->cursor, 30);
	assert_int_equal(stream_of(&r, 1, 1)->cursor, 5);
	assert_int_equal(stream_of(&r, 3, 1)->cursor, 50);
	/* A flow still open when tlstap stops gets its gap too. */
	note_end(ft, 2, 200, 8, 4);
	flows_finish(ft);
	assert_int_equal(flows_stats(ft)->lost_bytes, 20 + 5 + 50 + 8);
	assert_int_equal(flows_stats(ft)->flows, 3);
	end_checked(ft, &r);
}

/*
 * Many evicted flows come back (more than any fixed slot table would hold
 * apart): each goes on where it was, none shows a fake gap.
 */
struct tally {
	__u64 data_bytes, gaps, bad_pos;
};

static void tally_data(void *ctx, const struct flow *f, const struct tlstap_data_event *ev)
{
	struct tally *t = ctx;

	t->data_bytes += ev->len;
	/* Every flow here gets 10 bytes at 0, then 5 at 10. */
	if (ev->pos != (ev->len == 10 ? 0 : 10))
		t->bad_pos++;
}

static void tally_gap(void *ctx, const struct flow *f, int dir, __u64 pos, __u64 len,
		      enum gap_reason why)
{
	((struct tally *)ctx)->gaps++;
}

static void test_flows_thousands_of_evicted_flows_come_back_without_gaps(void **state)
{
	static const struct flow_callbacks cb = { .on_data = tally_data, .on_gap = tally_gap };
	struct tally t = { 0 };
	struct flow_table *ft = flows_new(&cb, &t, 4);
	__u64 c;

	for (c = 1; c <= 5000; c++)
		assert_int_equal(feed(ft, c, 0, 0, 10), 0);
	assert_true(flows_stats(ft)->evicted >= 4990);
	for (c = 1; c <= 5000; c++)
		assert_int_equal(feed(ft, c, 0, 10, 5), 0);
	flows_finish(ft);
	assert_int_equal(flows_stats(ft)->lost_bytes, 0);
	assert_int_equal(t.gaps, 0);
	assert_int_equal(t.bad_pos, 0);
	assert_int_equal(t.data_bytes, 5000 * 15);
	/* Even the last four are evicted by the second pass before their turn. */
	assert_int_equal(flows_stats(ft)->resumed, 5000);
	assert_int_equal(flows_stats(ft)->ghosts_forgotten, 0);
	flows_free(ft);
}

/* A close for an evicted flow shows what never arrived of it. */
static void test_flows_close_of_an_evicted_flow_reports_its_tail(void **state)
{
	struct recorder r = { 0 };
	struct flow_table *ft = flows_new(&rec_cb, &r, 1);

	assert_int_equal(feed(ft, 1, 0, 0, 100), 0);
	assert_int_equal(feed(ft, 2, 0, 0, 10), 0);	/* evicts 1 */
	assert_int_equal(feed_close(ft, 100, 1, 5000, 0), 0);
	flows_sweep(ft);
	flows_sweep(ft);
	assert_int_equal(flows_stats(ft)->lost_bytes, 4900);
	assert_int_equal(stream_of(&r, 1, 0)->cursor, 5000);
	flows_finish(ft);
	assert_int_equal(flows_stats(ft)->lost_bytes, 4900);
	end_checked(ft, &r);
}

/*
 * Ends noted for connections none of whose records has arrived open no
 * flow (and evict none) until a record comes or the process exits.
 */
static void test_flows_noted_ends_open_nothing_early_and_evict_nothing(void **state)
{
	struct recorder r = { 0 };
	struct flow_table *ft = flows_new(&rec_cb, &r, 2);

	assert_int_equal(feed(ft, 1, 0, 0, 10), 0);
	assert_int_equal(feed(ft, 2, 0, 0, 10), 0);
	note_end(ft, 3, 100, 30, 0);
	note_end(ft, 4, 100, 0, 7);
	assert_int_equal(count(&r, K_OPEN), 2);
	assert_int_equal(flows_stats(ft)->evicted, 0);
	/* Conn 3's records come after all: it opens from them, from 0. */
	assert_int_equal(feed(ft, 3, 0, 0, 30), 0);
	assert_int_equal(count(&r, K_OPEN), 3);
	assert_int_equal(feed_exit(ft, 100), 0);
	flows_sweep(ft);
	flows_sweep(ft);
	/* Conn 4 never sent a record: its 7 bytes are a gap, on a flow of its own. */
	assert_int_equal(flows_stats(ft)->lost_bytes, 7);
	assert_int_equal(stream_of(&r, 4, 1)->cursor, 7);
	assert_int_equal(stream_of(&r, 3, 0)->len, 30);
	flows_finish(ft);
	assert_int_equal(flows_stats(ft)->lost_bytes, 7);
	end_checked(ft, &r);
}

/* ---- The random test */

static __u64 rng_state;

static __u64 rnd(void)
{
	__u64 x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

struct keyed {
	__u64 key;
	struct chunk c;
};

static int by_key(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

#define STREAM_LEN	(200 * 1024)
#define WINDOW		8

/*
 * Three 200 KiB streams cut at random sizes, interleaved, each chunk moved up
 * to WINDOW places, fed in passes of at least 2 * WINDOW records with a sweep
 * after each: a chunk then never arrives more than one pass after a later one
 * of its stream, so nothing may be declared lost.
 */
static void test_flows_random_reordering_reassembles_exactly(void **state)
{
	static const struct { __u64 conn; int dir; } streams[] = { { 1, 0 }, { 1, 1 }, { 2, 0 } };
	struct keyed *v;
	size_t nv, cap = 4096, i, k, batch;
	int round;

	for (round = 0; round < 10; round++) {
		struct recorder r = { 0 };
		struct flow_table *ft = flows_new(&rec_cb, &r, 16);
		const struct flow_stats *st = flows_stats(ft);
		__u64 next[3] = { 0 };
		int live;

		rng_state = 0x5eed0000ull + round;
		v = calloc(cap, sizeof(*v));
		assert_non_null(v);
		/* Round-robin over the streams, chunks of 1..64 or 1..TLSTAP_CHUNK_MAX bytes. */
		nv = 0;
		do {
			live = 0;
			for (k = 0; k < 3; k++) {
				__u64 left = STREAM_LEN - next[k], len;

				if (!left)
					continue;
				live++;
				len = 1 + rnd() % (rnd() % 4 ? 64 : TLSTAP_CHUNK_MAX);
				if (len > left)
					len = left;
				assert_true(nv < cap);
				v[nv].c = (struct chunk){ .conn = streams[k].conn, .dir = streams[k].dir,
							  .pid = 100 + (__u32)streams[k].conn,
							  .pos = next[k], .len = (__u32)len };
				v[nv].key = nv + rnd() % (WINDOW + 1);
				/* Ties keep the original order: key * cap + index is unique. */
				v[nv].key = v[nv].key * cap + nv;
				next[k] += len;
				nv++;
			}
		} while (live);
		qsort(v, nv, sizeof(*v), by_key);

		for (i = 0; i < nv; i += batch) {
			batch = 2 * WINDOW + rnd() % (2 * WINDOW);
			for (k = i; k < i + batch && k < nv; k++)
				assert_int_equal(feed_chunk(ft, &v[k].c), 0);
			flows_sweep(ft);
		}
		flows_finish(ft);
		for (k = 0; k < 3; k++)
			assert_stream_is_ref(&r, streams[k].conn, streams[k].dir, STREAM_LEN);
		assert_int_equal(count(&r, K_GAP), 0);
		assert_int_equal(st->gaps, 0);
		assert_int_equal(st->lost_bytes, 0);
		assert_int_equal(st->dup_bytes, 0);
		assert_int_equal(count(&r, K_OPEN), 2);
		assert_int_equal(count(&r, K_CLOSE), 2);
		end_checked(ft, &r);
		free(v);
	}
}

/* flows_free with chunks and closes still queued (an error path): nothing leaks (ASan). */
/* A stand-in for the HTTP view: decoder memory it gives back when asked. */
struct fake_decoders {
	struct mem_budget *mb;
	size_t held;
	int calls;
	size_t gaps_at_first_call;
	struct recorder *r;
};

static void fake_reclaim(void *ctx, size_t want)
{
	struct fake_decoders *fd = ctx;

	if (!fd->calls++)
		fd->gaps_at_first_call = count(fd->r, K_GAP);
	mem_budget_release(fd->mb, fd->held);
	fd->held = 0;
}

/*
 * Chunks waiting behind a hole are charged to the memory budget. Past it,
 * decoders give their memory back first; only when waiting alone would
 * pass it is the hole given up on (declared lost, counted) and what waited
 * behind it delivered. Accounted memory never passes the limit by more
 * than the chunk that tipped it.
 */
static void test_flows_reordering_within_memory_budget_decoders_first(void **state)
{
	const size_t limit = 256 * 1024, chunk = 4000;
	struct recorder r = { 0 };
	struct mem_budget mb;
	struct fake_decoders fd = { .mb = &mb, .r = &r };
	struct flow_table *ft = flows_new(&rec_cb, &r, 16);
	const struct flow_stats *st = flows_stats(ft);
	size_t k, gap_at = 0;
	const struct logged *l;

	mem_budget_init(&mb, limit);
	mem_budget_set_reclaim(&mb, fake_reclaim, &fd);
	assert_int_equal(mem_budget_try(&mb, 100000), 0);
	fd.held = 100000;
	flows_set_budget(ft, &mb);
	assert_int_equal(feed(ft, 1, 0, 0, 10), 0);
	/* 10..1000 never comes; what follows waits for it. */
	for (k = 0; k < 100 && !gap_at; k++) {
		assert_int_equal(feed(ft, 1, 0, 1000 + k * chunk, (__u32)chunk), 0);
		assert_true(mb.used <= limit + MEM_COST(sizeof(struct tlstap_data_event) + 64 + chunk));
		if (count(&r, K_GAP))
			gap_at = k + 1;
	}
	/* Decoders were asked first, before any hole was given up on. */
	assert_int_equal(fd.calls >= 1, 1);
	assert_int_equal(fd.gaps_at_first_call, 0);
	assert_int_equal(fd.held, 0);
	/* Then the hole: one gap where the bytes are missing, everything behind it delivered. */
	assert_true(gap_at > limit / 2 / chunk && gap_at <= limit / chunk + 1);
	assert_int_equal(count(&r, K_GAP), 1);
	l = &r.log[2];	/* open, data 0..10, then the gap */
	assert_logged(l, K_GAP, 1, 0, 10, 990);
	assert_int_equal(l->why, GAP_LOST);
	assert_int_equal(count(&r, K_DATA), 1 + gap_at);
	assert_int_equal(st->mem_gaps, 1);
	assert_int_equal(st->mem_gap_bytes, 990);
	assert_int_equal(st->lost_bytes, 990);
	assert_int_equal(mb.used, 0);
	/* Nothing waits any more: in-order data flows through without being held. */
	assert_int_equal(feed(ft, 1, 0, 1000 + gap_at * chunk, 100), 0);
	assert_int_equal(count(&r, K_DATA), 2 + gap_at);
	assert_int_equal(mb.used, 0);
	flows_finish(ft);
	end_checked(ft, &r);
}

/* A time-order consumer: checks each chunk's bytes, keeps every third one for a while. */
struct timed_keeper {
	struct mem_budget *mb;
	struct flow_chunk *kept[8];
	int nkept;
	size_t chunks, bytes;
	int bad;
};

static unsigned timed_admit(void *ctx, const struct flow *f, int dir,
			    const struct tlstap_data_event *ev)
{
	return ev ? 1 : 0;
}

static bool timed_take(void *ctx, const struct flow *f, struct flow_chunk *c)
{
	struct timed_keeper *k = ctx;
	__u32 i;

	for (i = 0; i < c->ev.len; i++)
		k->bad += c->ev.data[i] != ref_byte(c->ev.conn_id * 2 + c->ev.dir, c->ev.pos + i);
	/* Charged whole while it waits: the class it came from, never less than it holds. */
	k->bad += flow_chunk_cost(c) < MEM_COST(sizeof(*c) + c->ev.len);
	k->chunks++;
	k->bytes += c->ev.len;
	if (k->chunks % 3)
		return false;
	if (k->nkept == 8) {
		while (k->nkept)
			flow_chunk_free(k->kept[--k->nkept], k->mb);
	}
	k->kept[k->nkept++] = c;
	return true;
}

static const struct flow_callbacks timed_cb = {
	.admit = timed_admit,
	.on_timed = timed_take,
	.keeps_chunks = true,
};

/*
 * Chunks of every size a record can have, around every size-class edge,
 * handed on in time order, some kept and freed later by their consumer and
 * their memory reused for others: every byte arrives as sent (ASan checks
 * each copy stays inside its allocation), and the budget ends at zero.
 */
static void test_flows_time_order_chunks_of_every_size(void **state)
{
	static const __u32 sizes[] = { 1, 100, 900, 960, 1000, 1024, 1100, 1200, 1500, 2048,
				       2049, 2300, 3000, 4095, 4096, 4097, 8000, 8192, 9000,
				       12000, 16000, 16383, 16384 };
	const size_t nsizes = sizeof(sizes) / sizeof(sizes[0]);
	struct timed_keeper k = { 0 };
	struct mem_budget mb;
	struct flow_table *ft;
	__u64 pos[2] = { 0, 0 }, want = 0;
	size_t i;
	int dir;

	mem_budget_init(&mb, 0);
	k.mb = &mb;
	ft = flows_new(&timed_cb, &k, 16);
	assert_non_null(ft);
	flows_set_budget(ft, &mb);
	for (i = 0; i < 3 * nsizes; i++) {
		dir = (int)(i & 1);
		/* Sizes up and down the table, so freed chunks are reused by others. */
		assert_int_equal(feed(ft, 7, dir, pos[dir], sizes[(i * 7) % nsizes]), 0);
		pos[dir] += sizes[(i * 7) % nsizes];
		want += sizes[(i * 7) % nsizes];
		if (i % 4 == 3)
			flows_sweep(ft);
	}
	flows_sweep(ft);
	flows_sweep(ft);
	assert_int_equal(k.bad, 0);
	assert_int_equal(k.chunks, 3 * nsizes);
	assert_int_equal(k.bytes, want);
	while (k.nkept)
		flow_chunk_free(k.kept[--k.nkept], &mb);
	assert_int_equal(mb.used, 0);
	flows_free(ft);
}

static void test_flows_free_with_pending_state(void **state)
{
	struct recorder r = { 0 };
	struct flow_table *ft = flows_new(&rec_cb, &r, 16);

	assert_int_equal(feed(ft, 1, 0, 100, 10), 0);
	assert_int_equal(feed(ft, 1, 1, 50, 10), 0);
	assert_int_equal(feed_close(ft, 100, 1, 200, 200), 0);
	assert_int_equal(feed_exit(ft, 100), 0);
	flows_free(ft);
	flows_free(NULL);
	assert_int_equal(count(&r, K_CLOSE), 0);
	rec_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flows_in_order_delivered_as_is),
		cmocka_unit_test(test_flows_out_of_order_within_sweep_no_gap),
		cmocka_unit_test(test_flows_missing_for_full_sweep_is_one_lost_gap),
		cmocka_unit_test(test_flows_snaplen_skipped_is_exact_snaplen_gap),
		cmocka_unit_test(test_flows_close_tail_gap_and_deferred_close),
		cmocka_unit_test(test_flows_close_unknown_conn_or_end_is_harmless),
		cmocka_unit_test(test_flows_exit_closes_only_that_pids_flows),
		cmocka_unit_test(test_flows_overlaps_trimmed_and_counted),
		cmocka_unit_test(test_flows_malformed_records_rejected),
		cmocka_unit_test(test_flows_eviction_closes_least_recent),
		cmocka_unit_test(test_flows_evicted_flow_seen_again_goes_on_without_a_fake_gap),
		cmocka_unit_test(test_flows_noted_end_makes_the_missing_tail_a_gap),
		cmocka_unit_test(test_flows_thousands_of_evicted_flows_come_back_without_gaps),
		cmocka_unit_test(test_flows_close_of_an_evicted_flow_reports_its_tail),
		cmocka_unit_test(test_flows_noted_ends_open_nothing_early_and_evict_nothing),
		cmocka_unit_test(test_flows_random_reordering_reassembles_exactly),
		cmocka_unit_test(test_flows_reordering_within_memory_budget_decoders_first),
		cmocka_unit_test(test_flows_time_order_chunks_of_every_size),
		cmocka_unit_test(test_flows_free_with_pending_state),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
