/* Hands every flow event to each output in use: live printer and pcapng file. */
#ifndef TLSTAP_SINKS_H
#define TLSTAP_SINKS_H

#include "flows.h"

#define SINKS_MAX FLOW_SINKS_MAX

struct sinks {
	const struct flow_callbacks *cb[SINKS_MAX];
	void *ctx[SINKS_MAX];
	int n;
};

/*
 * Adds a consumer; returns -ENOSPC past SINKS_MAX. *slot (if not NULL) is
 * its index in every flow's sink_state[].
 */
int sinks_add(struct sinks *s, const struct flow_callbacks *cb, void *ctx, int *slot);
/* The callbacks to give flows_new(), with the struct sinks as ctx. */
extern const struct flow_callbacks sinks_callbacks;

#endif
