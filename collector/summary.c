/* The end-of-run summary: every counter gathered once, printed as text (stderr) and as the JSON stats line. */
#include <stddef.h>
#include <string.h>
#include "mem_budget.h"
#include "output.h"
#include "summary.h"
#include "system.h"

void summary_collect(struct summary *s, const struct output *out, const struct flow_stats *fs,
		     const struct tlstap_stats *bs, const struct mem_budget *mb,
		     const struct http_view *hv)
{
	memset(s, 0, sizeof(*s));
	s->events = out->events;
	s->bytes = out->bytes;
	s->fs = *fs;
	s->bs = *bs;
#define ADD_UNTRACED(name, untraced)	\
	if (untraced)			\
		s->untraced_calls += bs->name;
	TLSTAP_STATS(ADD_UNTRACED)
#undef ADD_UNTRACED
	if (hv)
		http_view_stats(hv, &s->hs);
	s->mem_limit = mb->limit;
	s->mem_peak = mb->peak;
	s->rss_peak = system_rss_peak_bytes();
}

#define U(v)	((unsigned long long)(v))
#define MIB(v)	((double)(v) / (1 << 20))

void summary_print_text(const struct summary *s, FILE *f)
{
	fprintf(f,
		"tlstap: %llu events, %llu bytes captured in %llu connections; lost %llu bytes "
		"(ring full: %llu records, %llu bytes; unreadable: %llu; over 2 GiB: %llu); "
		"snaplen left out %llu bytes; untraced calls: %llu; lost connection ends: %llu\n",
		U(s->events), U(s->bytes), U(s->fs.flows), U(s->fs.lost_bytes),
		U(s->bs.ring_full_events), U(s->bs.ring_full_bytes), U(s->bs.unreadable_bytes),
		U(s->bs.oversize_bytes), U(s->fs.snap_bytes), U(s->untraced_calls), U(s->bs.ctrl_lost));
	/* What the memory budget cost: decoding first, raw data only past it. */
	fprintf(f,
		"tlstap: memory: peak %.1f of %.0f MiB; not decoded for lack of memory: %llu connections, "
		"%llu bytes (shown raw); holes given up to stay within it: %llu (%llu bytes); "
		"shown before the rings' backlog was read: %llu times; resident peak %.1f MiB "
		"(rings included)\n",
		MIB(s->mem_peak), MIB(s->mem_limit), U(s->hs.undecoded_conns), U(s->hs.undecoded_bytes),
		U(s->fs.mem_gaps), U(s->fs.mem_gap_bytes), U(s->fs.early_settles), MIB(s->rss_peak));
	/* Not a loss: the collector fell behind the fast rings, the -B rings
	 * took these records (what found those full too is "ring full"). */
	if (s->bs.overflow_records)
		fprintf(f, "tlstap: rings: %llu records (%llu bytes) went to the -B rings: the "
			"collector fell behind the fast ones\n",
			U(s->bs.overflow_records), U(s->bs.overflow_bytes));
	/* Only when Go programs were traced in ways worth saying. */
	if (s->bs.go_unattributed || s->bs.go_stack_moves)
		fprintf(f, "tlstap: Go: %llu calls over no TCP socket tlstap could verify (no address); "
			"%llu calls during which their goroutine's stack moved\n",
			U(s->bs.go_unattributed), U(s->bs.go_stack_moves));
}

/* The JSON stats line, in this order: its key and where the value is in struct summary. */
#define AT(field)	offsetof(struct summary, field)
static const struct {
	const char *key;
	size_t at;
} json_stats[] = {
	{ "events", AT(events) },
	{ "bytes", AT(bytes) },
	{ "connections", AT(fs.flows) },
	{ "lost_bytes", AT(fs.lost_bytes) },
	{ "snaplen_bytes", AT(fs.snap_bytes) },
	{ "ring_full_records", AT(bs.ring_full_events) },
	{ "ring_full_bytes", AT(bs.ring_full_bytes) },
	{ "overflow_records", AT(bs.overflow_records) },
	{ "overflow_bytes", AT(bs.overflow_bytes) },
	{ "unreadable_bytes", AT(bs.unreadable_bytes) },
	{ "oversize_bytes", AT(bs.oversize_bytes) },
	{ "untraced_calls", AT(untraced_calls) },
	{ "unmatched_returns", AT(bs.unmatched_returns) },
	{ "unfinished_calls", AT(bs.unfinished_calls) },
	{ "lost_ctrl_events", AT(bs.ctrl_lost) },
	{ "bad_records", AT(fs.bad_records) },
	{ "mem_limit_bytes", AT(mem_limit) },
	{ "mem_peak_bytes", AT(mem_peak) },
	{ "undecoded_conns", AT(hs.undecoded_conns) },
	{ "undecoded_bytes", AT(hs.undecoded_bytes) },
	{ "mem_gaps", AT(fs.mem_gaps) },
	{ "mem_gap_bytes", AT(fs.mem_gap_bytes) },
	{ "mem_early_settles", AT(fs.early_settles) },
	{ "rss_peak_bytes", AT(rss_peak) },
	{ "watch_dropped", AT(bs.watch_dropped) },
	{ "go_unattributed_calls", AT(bs.go_unattributed) },
	{ "go_stack_moves", AT(bs.go_stack_moves) },
};

void summary_print_json(const struct summary *s, const char *tags, FILE *f)
{
	__u64 v;
	size_t i;

	fputs("{\"type\":\"stats\"", f);
	for (i = 0; i < sizeof(json_stats) / sizeof(json_stats[0]); i++) {
		memcpy(&v, (const char *)s + json_stats[i].at, sizeof(v));
		fprintf(f, ",\"%s\":%llu", json_stats[i].key, U(v));
	}
	fputs(tags, f);
	fputs("}\n", f);
}
