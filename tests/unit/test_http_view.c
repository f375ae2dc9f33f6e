/* Unit tests of the decoded HTTP view under a memory budget: what it keeps, what it gives up, what it says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "flows.h"
#include "http_view.h"
#include "mem_budget.h"
#include "output.h"
#include "raw_view.h"
#include "sinks.h"

/* ---- The collector's pipeline as main.c builds it: flows -> HTTP view + printer. */

struct pipe {
	struct mem_budget mb;
	struct output out;
	struct http_view *hv;
	struct sinks sinks;
	struct flow_table *ft;
	char *buf;
	size_t len;
	FILE *f;
	__u64 round;
	size_t max_used;	/* budget in use, sampled after every record */
};

static void pipe_open(struct pipe *p, enum out_mode mode, size_t limit)
{
	struct http_view_opts ho = { .body_preview = 256, .budget = &p->mb };

	memset(p, 0, sizeof(*p));
	p->f = open_memstream(&p->buf, &p->len);
	assert_non_null(p->f);
	mem_budget_init(&p->mb, limit);
	output_init(&p->out, mode, p->f, 0);
	p->out.body_preview = 256;
	p->out.data_to_view = mode == OUT_TEXT;
	assert_int_equal(http_view_new(&p->hv, &ho, &p->out), 0);
	assert_int_equal(http_view_attach(p->hv, &p->sinks), 0);
	assert_int_equal(sinks_add(&p->sinks, &raw_view_callbacks, &p->out, NULL), 0);
	p->ft = flows_new(sinks_callbacks(&p->sinks), &p->sinks, 4096);
	assert_non_null(p->ft);
	flows_set_budget(p->ft, &p->mb);
	p->round = 1;
	flows_set_stamp(p->ft, p->round);
}

/* One record of conn, in order; the view decodes it at once (the round is settled). */
static void pipe_data(struct pipe *p, __u64 conn, int dir, __u64 pos, const void *bytes, size_t len)
{
	struct tlstap_data_event *ev = calloc(1, sizeof(*ev) + len);

	assert_non_null(ev);
	ev->type = TLSTAP_EV_DATA;
	ev->dir = (__u8)dir;
	ev->func_id = dir ? 1 : 0;
	ev->ts_ns = 1000000 + p->round;
	ev->pid = 1234;
	ev->tid = 1234;
	ev->fd = 7;
	ev->conn_id = conn;
	ev->pos = pos;
	ev->len = (__u32)len;
	ev->addr.family = AF_INET;
	ev->addr.lport = (__u16)(40000 + conn);
	ev->addr.rport = 443;
	memcpy(ev->comm, "client", 6);
	memcpy(ev->data, bytes, len);
	assert_int_equal(flows_record(p->ft, ev, sizeof(*ev) + len), 0);
	free(ev);
	p->round++;
	flows_resolve(p->ft, p->round);
	flows_set_stamp(p->ft, p->round);
	if (p->mb.used > p->max_used)
		p->max_used = p->mb.used;
}

/* Ends every flow, as at exit; the output is complete in p->buf. */
static void pipe_finish(struct pipe *p)
{
	flows_finish(p->ft);
	output_finish(&p->out);
	fflush(p->f);
}

/* Frees the pipe; everything charged to the budget must have been given back. */
static void pipe_close(struct pipe *p)
{
	flows_free(p->ft);
	http_view_free(p->hv);
	fclose(p->f);
	free(p->buf);
	assert_int_equal(p->mb.used, 0);
}

static size_t occurrences(const char *hay, const char *needle)
{
	size_t n = 0, k = strlen(needle);
	const char *at;

	for (at = hay; (at = strstr(at, needle)); at += k)
		n++;
	return n;
}

#define NCONN		200
#define MARK_LEN	8	/* "C007___" and one more '_' */

/* What the output says of each connection, read in one pass. */
struct seen {
	size_t notes[NCONN + 1];	/* "no longer decoding: memory" notes */
	size_t marks[NCONN + 1];	/* body marks printed raw */
	size_t exchanges[NCONN + 1];	/* decoded "POST /up/N" exchanges */
	/* JSON: data bytes from the record decoding stopped in (just before the note) on. */
	size_t raw_after[NCONN + 1];
};

/* The number after "key": in the line at p, or 0. */
static unsigned long json_num(const char *p, const char *key)
{
	const char *eol = strchr(p, '\n'), *at = strstr(p, key);

	return at && (!eol || at < eol) ? strtoul(at + strlen(key), NULL, 10) : 0;
}

static unsigned conn_at(const char *p)
{
	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9' || p[2] < '0' || p[2] > '9')
		return 0;
	return (unsigned)((p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0'));
}

static void read_output(const char *out, size_t len, struct seen *s)
{
	static const char text_note[] = "[tlstap: conn ", json_note[] = "{\"type\":\"note\",\"conn\":";
	unsigned long c, prev_conn = 0, prev_len = 0;
	const char *p;
	size_t i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i + MARK_LEN <= len; i++) {
		if (out[i] == 'C' && !memcmp(out + i + 4, "____", 4) && (c = conn_at(out + i + 1)) &&
		    c <= NCONN) {
			s->marks[c]++;
			i += MARK_LEN - 1;
		}
	}
	for (p = out; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, "{\"type\":\"data\",", 15)) {
			c = json_num(p, "\"conn\":");
			if (c && c <= NCONN && s->notes[c])
				s->raw_after[c] += json_num(p, "\"len\":");
			prev_conn = c;
			prev_len = json_num(p, "\"len\":");
			continue;
		}
		if (!strncmp(p, text_note, strlen(text_note)) ||
		    !strncmp(p, json_note, strlen(json_note))) {
			c = strtoul(p + (*p == '[' ? strlen(text_note) : strlen(json_note)), NULL, 10);
			if (c && c <= NCONN && strstr(p, "memory budget") &&
			    strstr(p, "memory budget") < strchr(p, '\n')) {
				s->notes[c]++;
				/* It stopped while decoding that record: the record was not decoded either. */
				if (prev_conn == c)
					s->raw_after[c] += prev_len;
			}
		}
		prev_conn = 0;
	}
	for (p = strstr(out, "POST /up/"); p; p = strstr(p + 1, "POST /up/")) {
		c = conn_at(p + 9);
		if (c && c <= NCONN && !strncmp(p + 12, " -> (no response)", 17))
			s->exchanges[c]++;
	}
}

/* Ends every flow, then reads what the output and the view's counters say. */
static void pipe_end(struct pipe *p, struct seen *seen, struct http_view_stats *st)
{
	pipe_finish(p);
	http_view_stats(p->hv, st);
	read_output(p->buf, p->len, seen);
}

/* ---- Tests */

#define BODY_CHUNK	16000	/* a multiple of MARK_LEN: marks never straddle records */

/*
 * 200 uploads that never finish (their bodies undecided: text holds them
 * to show them raw should decoding fail), against a budget that holds
 * about a tenth of them. Accounted memory stays within the budget; the
 * connections given up on are said once each and counted; every byte of
 * every connection still reaches the output, decoded or raw.
 */
static void test_http_view_undecided_bodies_stay_within_budget(void **state)
{
	static char body[BODY_CHUNK];
	const size_t limit = 2u << 20, per_conn = 10 * BODY_CHUNK;
	static struct seen seen;
	struct http_view_stats st;
	struct pipe p;
	char head[128], mark[16], line[64];

	size_t hlen[NCONN + 1], i, k, degraded = 0, expect_bytes = 0, total = 0;
	__u64 c, pos[NCONN + 1];

	pipe_open(&p, OUT_TEXT, limit);
	for (c = 1; c <= NCONN; c++) {
		hlen[c] = (size_t)snprintf(head, sizeof(head),
					   "POST /up/%03llu HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n",
					   (unsigned long long)c);
		pipe_data(&p, c, 0, 0, head, hlen[c]);
		pos[c] = hlen[c];
	}
	/* Bodies arrive interleaved, as from 200 clients at once. */
	for (k = 0; k < per_conn / BODY_CHUNK; k++) {
		for (c = 1; c <= NCONN; c++) {
			snprintf(mark, sizeof(mark), "C%03llu____", (unsigned long long)c);
			for (i = 0; i < BODY_CHUNK; i++)
				body[i] = mark[i % MARK_LEN];
			pipe_data(&p, c, 0, pos[c], body, BODY_CHUNK);
			pos[c] += BODY_CHUNK;
		}
	}
	print_message("budget %zu, peak %zu, in use at most %zu\n", p.mb.limit, p.mb.peak, p.max_used);
	assert_true(p.mb.peak <= limit);
	/* Without a budget this holds every body: 200 x 320 KB. */
	assert_true(per_conn * NCONN > 10 * limit);
	pipe_end(&p, &seen, &st);
	/* Each connection: given up on (said once, every byte raw) or decoded in full. */
	for (c = 1; c <= NCONN; c++) {
		total += per_conn + hlen[c];
		if (seen.notes[c]) {
			degraded++;
			expect_bytes += per_conn + hlen[c];
			assert_int_equal(seen.notes[c], 1);
			assert_int_equal(seen.marks[c], per_conn / MARK_LEN);
			assert_int_equal(seen.exchanges[c], 0);
		} else {
			assert_int_equal(seen.exchanges[c], 1);
		}
	}
	snprintf(line, sizeof(line), "[body %zu bytes]", per_conn);
	assert_int_equal(occurrences(p.buf, line), NCONN - degraded);
	print_message("%zu of %d connections given up on, %llu bytes\n", degraded, NCONN,
		      (unsigned long long)st.undecoded_bytes);
	/* Most had to go; the counters say exactly which and how much. */
	assert_true(degraded > NCONN / 2 && degraded < NCONN);
	assert_int_equal(st.undecoded_conns, degraded);
	assert_int_equal(st.undecoded_bytes, expect_bytes);
	/* Every byte was delivered: nothing lost to make room. */
	assert_int_equal(flows_stats(p.ft)->lost_bytes, 0);
	assert_int_equal(p.out.bytes, total);
	pipe_close(&p);
}

/* Sends conn's upload head and body (a byte pattern of its own) in chunks of len; returns the bytes. */
static size_t upload(struct pipe *p, __u64 conn, size_t body, size_t chunk)
{
	static char buf[BODY_CHUNK];
	char head[128], mark[16];
	size_t n, i, k, pos;

	n = (size_t)snprintf(head, sizeof(head),
			     "POST /up/%03llu HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n",
			     (unsigned long long)conn);
	pipe_data(p, conn, 0, 0, head, n);
	snprintf(mark, sizeof(mark), "C%03llu____", (unsigned long long)conn);
	for (i = 0; i < BODY_CHUNK; i++)
		buf[i] = mark[i % MARK_LEN];
	assert_true(chunk <= BODY_CHUNK && chunk % MARK_LEN == 0);
	for (pos = 0; pos < body; pos += k) {
		k = body - pos < chunk ? body - pos : chunk;
		pipe_data(p, conn, 0, n + pos, buf, k);
	}
	return n + body;
}

/* The connection holding the most goes first; the small ones it made room for keep decoding. */
static void test_http_view_biggest_connection_is_given_up_first(void **state)
{
	static struct seen seen;
	struct http_view_stats st;
	struct pipe p;
	__u64 c;

	pipe_open(&p, OUT_TEXT, 1u << 20);
	upload(&p, 1, 640000, BODY_CHUNK);
	for (c = 2; c <= 40; c++)
		upload(&p, c, 16000, BODY_CHUNK);
	assert_true(p.mb.peak <= p.mb.limit);
	pipe_end(&p, &seen, &st);
	assert_int_equal(seen.notes[1], 1);
	assert_int_equal(seen.marks[1], 640000 / MARK_LEN);
	assert_int_equal(seen.exchanges[1], 0);
	for (c = 2; c <= 40; c++) {
		assert_int_equal(seen.notes[c], 0);
		assert_int_equal(seen.exchanges[c], 1);
	}
	assert_int_equal(st.undecoded_conns, 1);
	pipe_close(&p);
}

/*
 * JSON holds nothing for the raw view, but decoders still keep header
 * lines (64 KiB each). Header lines that never end on 100 connections:
 * decoder memory stays within the budget, every byte is still a data
 * event, and each connection given up on is said once and counted.
 */
static void test_http_view_json_decoder_buffers_stay_within_budget(void **state)
{
	static struct seen seen;
	static char line[4000];
	struct http_view_stats st;
	struct pipe p;
	size_t degraded = 0, total = 0, n, k, after = 0;
	char head[64];
	__u64 c;

	memset(line, 'h', sizeof(line));
	pipe_open(&p, OUT_JSON, 1u << 20);
	for (c = 1; c <= 100; c++) {
		n = (size_t)snprintf(head, sizeof(head), "GET /%03llu HTTP/1.1\r\nX-Long: ",
				     (unsigned long long)c);
		pipe_data(&p, c, 0, 0, head, n);
		total += n;
	}
	for (k = 0; k < 15; k++) {
		for (c = 1; c <= 100; c++) {
			n = (size_t)snprintf(head, sizeof(head), "GET /%03llu HTTP/1.1\r\nX-Long: ",
					     (unsigned long long)c);
			pipe_data(&p, c, 0, n + k * sizeof(line), line, sizeof(line));
			total += sizeof(line);
		}
	}
	print_message("budget %zu, peak %zu\n", p.mb.limit, p.mb.peak);
	assert_true(p.mb.peak <= p.mb.limit);
	pipe_end(&p, &seen, &st);
	for (c = 1; c <= 100; c++) {
		assert_true(seen.notes[c] <= 1);
		degraded += seen.notes[c];
		after += seen.raw_after[c];
	}
	print_message("%zu of 100 given up on, %llu bytes after that\n", degraded,
		      (unsigned long long)st.undecoded_bytes);
	assert_true(degraded > 50);
	assert_int_equal(st.undecoded_conns, degraded);
	/* The bytes the data events show after each note (and the record it came in). */
	assert_true(after > 0);
	assert_int_equal(st.undecoded_bytes, after);
	assert_int_equal(occurrences(p.buf, "{\"type\":\"data\""), 100 + 15 * 100);
	/* Each request under way is reported, incomplete: when given up on, or at the end. */
	assert_int_equal(occurrences(p.buf, "{\"type\":\"http\""), 100);
	assert_int_equal(occurrences(p.buf, "\"incomplete\":true}"), 100);
	assert_int_equal(p.out.bytes, total);
	pipe_close(&p);
}

/* One connection alone outgrows the budget: nobody else can make room, so it stops itself. */
static void test_http_view_connection_over_whole_budget_stops_itself(void **state)
{
	static struct seen seen;
	static char line[4096];
	struct http_view_stats st;
	struct pipe p;
	const char head[] = "GET /001 HTTP/1.1\r\nX-Long: ";
	size_t k;

	memset(line, 'h', sizeof(line));
	pipe_open(&p, OUT_JSON, 32u << 10);
	pipe_data(&p, 1, 0, 0, head, strlen(head));
	for (k = 0; k < 15; k++)
		pipe_data(&p, 1, 0, strlen(head) + k * sizeof(line), line, sizeof(line));
	assert_true(p.mb.peak <= p.mb.limit);
	pipe_end(&p, &seen, &st);
	assert_int_equal(seen.notes[1], 1);
	/* The request it was reading is still reported, incomplete. */
	assert_int_equal(occurrences(p.buf, "{\"type\":\"http\""), 1);
	assert_int_equal(occurrences(p.buf, "\"path\":\"/001\""), 1);
	assert_int_equal(occurrences(p.buf, "\"incomplete\":true}"), 1);
	assert_int_equal(st.undecoded_conns, 1);
	assert_true(seen.raw_after[1] > 0 && seen.raw_after[1] < 15 * sizeof(line));
	assert_int_equal(st.undecoded_bytes, seen.raw_after[1]);
	pipe_close(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_view_undecided_bodies_stay_within_budget),
		cmocka_unit_test(test_http_view_biggest_connection_is_given_up_first),
		cmocka_unit_test(test_http_view_json_decoder_buffers_stay_within_budget),
		cmocka_unit_test(test_http_view_connection_over_whole_budget_stops_itself),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
