/* The end-of-run summary: every counter gathered once, printed as text (stderr) and as the JSON stats line. */
#ifndef TLSTAP_SUMMARY_H
#define TLSTAP_SUMMARY_H

#include <stdio.h>
#include <linux/types.h>
#include "flows.h"
#include "http_view.h"
#include "tlstap.h"

struct output;
struct mem_budget;

/* Every counter the summary shows, from each of its sources. */
struct summary {
	__u64 events, bytes;		/* what the output printed */
	struct flow_stats fs;
	struct tlstap_stats bs;		/* the BPF side's, summed over CPUs */
	__u64 untraced_calls;		/* the TLSTAP_STATS counters marked untraced, added up */
	struct http_view_stats hs;	/* zeros without the decoded HTTP view */
	__u64 mem_limit, mem_peak;	/* the memory budget, bytes */
	__u64 rss_peak;			/* resident high-water mark, bytes; 0 if unknown */
};

/* Gathers the counters at the end of a run; hv may be NULL. */
void summary_collect(struct summary *s, const struct output *out, const struct flow_stats *fs,
		     const struct tlstap_stats *bs, const struct mem_budget *mb,
		     const struct http_view *hv);
/* The two "tlstap: ..." lines for a person. */
void summary_print_text(const struct summary *s, FILE *f);
/* {"type":"stats",...}: one line, keys in a fixed order, then tags (output's, or ""). */
void summary_print_json(const struct summary *s, const char *tags, FILE *f);

#endif
