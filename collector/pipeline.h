/* The live data path after the rings: flow table -> decoded view, raw view, pcapng -> printer. */
#ifndef TLSTAP_PIPELINE_H
#define TLSTAP_PIPELINE_H

#include <stdio.h>
#include "flows.h"
#include "http_view.h"
#include "mem_budget.h"
#include "opts.h"
#include "output.h"
#include "sinks.h"

struct pipeline {
	struct output out;		/* the printer */
	struct mem_budget mb;		/* --max-memory, for reordering and decoding */
	struct http_view *hv;		/* the decoded view, or NULL (--raw, hex, none) */
	struct sinks sinks;
	struct flow_table *ft;		/* after pipeline_start */
};

/*
 * The printer on outf and the views of o, in the order they see each event:
 * the decoded view first (its notes come before raw lines), then the raw
 * view. More sinks (pcapng) may be added to p->sinks before pipeline_start.
 */
int pipeline_init(struct pipeline *p, const struct tlstap_opts *o, FILE *outf);
/* The flow table, feeding every sink added; 0 or -ENOMEM. */
int pipeline_start(struct pipeline *p, size_t max_flows);
/* Ends every flow (their last lines are printed) and the printer's open block. */
void pipeline_finish(struct pipeline *p);
void pipeline_free(struct pipeline *p);

#endif
