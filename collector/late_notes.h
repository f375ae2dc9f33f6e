/* A note on each connection that may have moved bytes before its probes were attached (a process started after tlstap). */
#ifndef TLSTAP_LATE_NOTES_H
#define TLSTAP_LATE_NOTES_H

#include "output.h"
#include "sinks.h"
#include "watch.h"

struct late_notes {
	const struct watch *w;
	struct output *out;
	unsigned long long noted;	/* connections noted */
};

/* Adds the sink: after the others, so its note follows the connection's end. */
int late_notes_attach(struct late_notes *ln, struct sinks *s);

#endif
