/* Hands every flow event to each output in use: decoded view, live printer, pcapng file. */
#ifndef TLSTAP_SINKS_H
#define TLSTAP_SINKS_H

#include "flows.h"

#define SINKS_MAX FLOW_SINKS_MAX

struct sinks {
	const struct flow_callbacks *cb[SINKS_MAX];
	void *ctx[SINKS_MAX];
	int n;
	/* Bit i: sink i asks for time order (its callbacks have on_timed). */
	unsigned timed;
	/* The one timed sink that may keep a chunk, + 1 (0: none): it has it last. */
	int keeper;
};

/*
 * Adds a consumer; returns -ENOSPC past SINKS_MAX, -EBUSY for a second one
 * that keeps chunks. *slot (if not NULL) is its index in every flow's
 * sink_state[]. Events reach the sinks in the order they were added, except
 * that in time order the sink that keeps chunks comes last.
 */
int sinks_add(struct sinks *s, const struct flow_callbacks *cb, void *ctx, int *slot);
/*
 * The callbacks to give flows_new(), with the struct sinks as ctx: the
 * table keeps time order only if a sink asks for it.
 */
const struct flow_callbacks *sinks_callbacks(const struct sinks *s);

#endif
