/* Decoded HTTP/1.x and HTTP/2 (gRPC) exchanges in the live text and JSON output. */
#ifndef TLSTAP_HTTP_VIEW_H
#define TLSTAP_HTTP_VIEW_H

#include <stdbool.h>
#include <stdio.h>
#include "flows.h"
#include "mem_budget.h"
#include "opts.h"

struct output;

struct http_view_opts {
	enum out_mode mode;		/* OUT_TEXT or OUT_JSON */
	size_t body_preview;		/* --body */
	const char *const *redact;	/* header names whose values are masked */
	int nredact;
	/*
	 * Decoders and held bytes are charged to it (NULL: no limit); the view
	 * becomes its reclaimer and stops decoding the biggest connections
	 * first when it is short.
	 */
	struct mem_budget *budget;
};

/* What was not decoded for lack of memory (the budget, or too much held undecided). */
struct http_view_stats {
	__u64 undecoded_conns;	/* connections shown raw instead */
	__u64 undecoded_bytes;	/* their bytes shown raw after decoding stopped */
	__u64 early_settles;	/* times it showed what it held without waiting (memory) */
};

struct http_view;

int http_view_new(struct http_view **hv, const struct http_view_opts *o, struct output *out);
void http_view_free(struct http_view *hv);
/* The flow callbacks, ctx = the http_view; add them before the output's. */
extern const struct flow_callbacks http_view_callbacks;
/* The consumer's round, stamped on what arrives now (as flows_set_stamp). */
void http_view_set_stamp(struct http_view *hv, __u64 stamp);
/* Decodes what arrived in rounds before `before`, in time order across directions. */
void http_view_settle(struct http_view *hv, __u64 before);
/*
 * Text mode: whether the output should leave this event's bytes to the
 * decoded view (HTTP, or not decided yet: the view keeps them and hands
 * them back to the raw printer if it turns out not to be HTTP).
 */
bool http_view_takes(struct http_view *hv, const struct flow *f, const struct tlstap_data_event *ev);
void http_view_stats(const struct http_view *hv, struct http_view_stats *st);
/* Memory is short: shows everything held now, without waiting for the rings (counted). */
void http_view_settle_now(struct http_view *hv);

#endif
