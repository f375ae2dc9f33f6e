/* The decoded view: HTTP/1.x and HTTP/2 (gRPC) exchanges of every flow, as printer records. */
#ifndef TLSTAP_HTTP_VIEW_H
#define TLSTAP_HTTP_VIEW_H

#include <stdbool.h>
#include "flows.h"
#include "mem_budget.h"
#include "output.h"
#include "sinks.h"

struct http_view_opts {
	size_t body_preview;		/* --body: body bytes each decoder keeps */
	/*
	 * Decoders are charged to it (NULL: no limit), and it must be the flow
	 * table's, which charged the chunks the view holds. The view becomes its
	 * reclaimer and stops decoding the biggest connections first when it is
	 * short.
	 */
	struct mem_budget *budget;
};

/* What was not decoded for lack of memory (the budget, or too much held undecided). */
struct http_view_stats {
	__u64 undecoded_conns;	/* connections shown raw instead */
	__u64 undecoded_bytes;	/* their bytes shown raw after decoding stopped */
};

struct http_view;

/*
 * A view printing to out (text or JSON). In text it shows every chunk, HTTP
 * or not, in time order: the raw view must leave them to it (data_to_view).
 */
int http_view_new(struct http_view **hv, const struct http_view_opts *o, struct output *out);
void http_view_free(struct http_view *hv);
/* Adds the view to s (before the raw view: its notes come before raw lines); it asks for time order. */
int http_view_attach(struct http_view *hv, struct sinks *s);
/* The flow callbacks, ctx = the http_view, state in slot 0 (without sinks). */
extern const struct flow_callbacks http_view_callbacks;
void http_view_stats(const struct http_view *hv, struct http_view_stats *st);

#endif
