/* Unit tests of the end-of-run summary: the JSON stats line and the text lines, from struct summary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mem_budget.h"
#include "output.h"
#include "summary.h"

/* Today's keys of the stats line, in order: scripts read them by name. */
static const char *const stats_keys[] = {
	"type", "events", "bytes", "connections", "lost_bytes", "snaplen_bytes",
	"ring_full_records", "ring_full_bytes", "overflow_records", "overflow_bytes",
	"unreadable_bytes", "oversize_bytes",
	"untraced_calls", "unmatched_returns", "unfinished_calls", "lost_ctrl_events",
	"bad_records", "mem_limit_bytes", "mem_peak_bytes", "undecoded_conns", "undecoded_bytes",
	"mem_gaps", "mem_gap_bytes", "mem_early_settles", "rss_peak_bytes", "watch_dropped",
	"go_unattributed_calls", "go_stack_moves",
};
#define NKEYS	(sizeof(stats_keys) / sizeof(stats_keys[0]))

/* A summary whose every counter differs from the others, so a value read from the wrong field shows. */
static void fill(struct summary *s)
{
	memset(s, 0, sizeof(*s));
	s->events = 1;
	s->bytes = 2;
	s->fs.flows = 3;
	s->fs.lost_bytes = 4;
	s->fs.snap_bytes = 5;
	s->bs.ring_full_events = 6;
	s->bs.ring_full_bytes = 7;
	s->bs.unreadable_bytes = 8;
	s->bs.oversize_bytes = 9;
	s->untraced_calls = 10;
	s->bs.unmatched_returns = 11;
	s->bs.unfinished_calls = 12;
	s->bs.ctrl_lost = 13;
	s->fs.bad_records = 14;
	s->mem_limit = 256 << 20;
	s->mem_peak = 3 << 19;
	s->hs.undecoded_conns = 17;
	s->hs.undecoded_bytes = 18;
	s->fs.mem_gaps = 19;
	s->fs.mem_gap_bytes = 20;
	s->fs.early_settles = 21;
	s->rss_peak = 5ull << 30;
	s->bs.watch_dropped = 23;
	s->bs.go_unattributed = 24;
	s->bs.go_stack_moves = 25;
	s->bs.overflow_records = 26;
	s->bs.overflow_bytes = 27;
	s->bs.snap_bytes = 1001;	/* the flow table's count is the one shown */
	s->fs.gaps = 1002;
}

/* What print wrote for s (caller frees). */
static char *printed(void (*print)(const struct summary *, FILE *), const struct summary *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	print(s, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* The stats line as tlstap prints it without --host and --run-id. */
static void print_json_untagged(const struct summary *s, FILE *f)
{
	summary_print_json(s, "", f);
}

/* The stats line with the labels of --host h1 --run-id "r 2". */
static void print_json_tagged(const struct summary *s, FILE *f)
{
	summary_print_json(s, ",\"host\":\"h1\",\"run_id\":\"r 2\"", f);
}

/*
 * The keys of a one-line JSON object whose values are unsigned integers or
 * the string "stats" (all the stats line holds); -1 when it is not that.
 */
static int json_flat_keys(const char *line, char keys[][32], int max)
{
	const char *p = line;
	size_t len;
	int n = 0;

	if (*p++ != '{')
		return -1;
	do {
		if (n == max || *p++ != '"')
			return -1;
		len = strspn(p, "abcdefghijklmnopqrstuvwxyz_");
		if (!len || len >= 32 || p[len] != '"' || p[len + 1] != ':')
			return -1;
		memcpy(keys[n], p, len);
		keys[n++][len] = '\0';
		p += len + 2;
		len = strncmp(p, "\"stats\"", 7) ? strspn(p, "0123456789") : 7;
		if (!len || (*p == '0' && len > 1))
			return -1;
		p += len;
	} while (*p++ == ',');
	return p[-1] == '}' && !strcmp(p, "\n") ? n : -1;
}

static void test_summary_json_line_golden(void **state)
{
	struct summary s;
	char *line;

	fill(&s);
	line = printed(print_json_untagged, &s);
	assert_string_equal(line,
		"{\"type\":\"stats\",\"events\":1,\"bytes\":2,\"connections\":3,\"lost_bytes\":4,"
		"\"snaplen_bytes\":5,\"ring_full_records\":6,\"ring_full_bytes\":7,\"overflow_records\":26,"
		"\"overflow_bytes\":27,\"unreadable_bytes\":8,"
		"\"oversize_bytes\":9,\"untraced_calls\":10,\"unmatched_returns\":11,"
		"\"unfinished_calls\":12,\"lost_ctrl_events\":13,\"bad_records\":14,"
		"\"mem_limit_bytes\":268435456,\"mem_peak_bytes\":1572864,\"undecoded_conns\":17,"
		"\"undecoded_bytes\":18,\"mem_gaps\":19,\"mem_gap_bytes\":20,\"mem_early_settles\":21,"
		"\"rss_peak_bytes\":5368709120,\"watch_dropped\":23,\"go_unattributed_calls\":24,"
		"\"go_stack_moves\":25}\n");
	free(line);
}

/*
 * Every BPF counter shows in the JSON stats line: one added to TLSTAP_STATS
 * without a key fails here. Those summed into untraced_calls show through
 * it (test_summary_collect_adds_untraced_calls), snap_bytes through the flow table's count.
 */
static void test_summary_json_shows_every_bpf_counter(void **state)
{
	static const struct {
		const char *name;
		size_t off;
		int untraced;
	} counters[] = {
#define COUNTER(name, untraced) { #name, offsetof(struct tlstap_stats, name), untraced },
		TLSTAP_STATS(COUNTER)
#undef COUNTER
	};
	char *base, *changed;
	struct summary s;
	__u64 v = 777777;
	size_t i;

	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		if (counters[i].untraced || !strcmp(counters[i].name, "snap_bytes"))
			continue;
		fill(&s);
		base = printed(print_json_untagged, &s);
		memcpy((char *)&s.bs + counters[i].off, &v, sizeof(v));
		changed = printed(print_json_untagged, &s);
		if (!strcmp(base, changed))
			fail_msg("BPF counter %s is not in the JSON stats line", counters[i].name);
		free(base);
		free(changed);
	}
}

static void test_summary_json_every_key_once_and_valid(void **state)
{
	char keys[NKEYS + 8][32];
	struct summary s;
	size_t i, k, seen;
	char *line;
	int n;

	fill(&s);
	line = printed(print_json_untagged, &s);
	n = json_flat_keys(line, keys, NKEYS + 8);
	if (n < 0)
		fail_msg("not a JSON object on one line: %s", line);
	assert_int_equal(n, NKEYS);
	for (i = 0; i < NKEYS; i++) {
		for (k = 0, seen = 0; k < NKEYS; k++)
			seen += !strcmp(keys[k], stats_keys[i]);
		if (seen != 1)
			fail_msg("key %s is there %zu times", stats_keys[i], seen);
	}
	/* The largest counters print whole. */
	memset(&s, 0xff, sizeof(s));
	free(line);
	line = printed(print_json_untagged, &s);
	assert_int_equal(json_flat_keys(line, keys, NKEYS + 8), NKEYS);
	assert_non_null(strstr(line, ",\"rss_peak_bytes\":18446744073709551615,"));
	free(line);
}

/* The labels end the stats line, after every counter: scripts reading keys by name see them. */
static void test_summary_json_line_ends_with_the_tags(void **state)
{
	char *plain, *tagged;
	struct summary s;
	size_t n;

	fill(&s);
	plain = printed(print_json_untagged, &s);
	tagged = printed(print_json_tagged, &s);
	n = strlen(plain) - 2;	/* without "}\n" */
	assert_memory_equal(plain, tagged, n);
	assert_string_equal(tagged + n, ",\"host\":\"h1\",\"run_id\":\"r 2\"}\n");
	free(plain);
	free(tagged);
}

static void test_summary_text_lines_golden(void **state)
{
	struct summary s;
	char *text;

	fill(&s);
	text = printed(summary_print_text, &s);
	assert_string_equal(text,
		"tlstap: 1 events, 2 bytes captured in 3 connections; lost 4 bytes (ring full: 6 records, "
		"7 bytes; unreadable: 8; over 2 GiB: 9); snaplen left out 5 bytes; untraced calls: 10; "
		"lost connection ends: 13\n"
		"tlstap: memory: peak 1.5 of 256 MiB; not decoded for lack of memory: 17 connections, "
		"18 bytes (shown raw); holes given up to stay within it: 19 (20 bytes); shown before "
		"the rings' backlog was read: 21 times; resident peak 5120.0 MiB (rings included)\n"
		"tlstap: rings: 26 records (27 bytes) went to the -B rings: the collector fell behind "
		"the fast ones\n"
		"tlstap: Go: 24 calls over no TCP socket tlstap could verify (no address); 25 calls "
		"during which their goroutine's stack moved\n");
	free(text);
}

/* "untraced calls" adds up the BPF counters of calls not traced at all, and only those. */
static void test_summary_collect_adds_untraced_calls(void **state)
{
	struct tlstap_stats bs = {
		.ring_full_events = 1000, .ring_full_bytes = 2000, .snap_bytes = 3000,
		.unreadable_bytes = 4000, .oversize_bytes = 5000, .ctrl_lost = 6000,
		.call_table_full = 1, .bad_len = 2, .conn_table_full = 4,
		.unmatched_returns = 8, .unfinished_calls = 16,
	};
	struct flow_stats fs = { .flows = 7, .bad_records = 9 };
	struct mem_budget mb;
	struct output out;
	struct summary s;

	memset(&out, 0, sizeof(out));
	out.events = 5;
	out.bytes = 50;
	mem_budget_init(&mb, 8 << 20);
	mb.peak = 1 << 20;
	summary_collect(&s, &out, &fs, &bs, &mb, NULL);
	assert_int_equal(s.untraced_calls, 31);
	assert_int_equal(s.events, 5);
	assert_int_equal(s.bytes, 50);
	assert_int_equal(s.fs.flows, 7);
	assert_int_equal(s.fs.bad_records, 9);
	assert_int_equal(s.bs.ctrl_lost, 6000);
	assert_int_equal(s.mem_limit, 8 << 20);
	assert_int_equal(s.mem_peak, 1 << 20);
	assert_int_equal(s.hs.undecoded_conns, 0);
	assert_true(s.rss_peak > 0);	/* this process's own, from /proc */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_summary_json_line_golden),
		cmocka_unit_test(test_summary_json_shows_every_bpf_counter),
		cmocka_unit_test(test_summary_json_every_key_once_and_valid),
		cmocka_unit_test(test_summary_json_line_ends_with_the_tags),
		cmocka_unit_test(test_summary_text_lines_golden),
		cmocka_unit_test(test_summary_collect_adds_untraced_calls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
