/* A note on each connection that may have moved bytes before its probes were attached: its process ran or mapped its TLS file before tlstap had probed it, and its socket was open by then. */
#include <stdio.h>
#include "late_notes.h"

static void on_close(void *ctx, const struct flow *f, enum close_reason why)
{
	struct late_notes *ln = ctx;
	char note[200];
	__u64 delay;

	(void)why;
	if (!watch_conn_predates(ln->w, f->pid, f->meta.fd, &delay))
		return;
	/* Never silent: those bytes are in no gap, as no probe saw them go. */
	snprintf(note, sizeof(note),
		 "probes attached %.1f ms after the process ran or mapped its TLS file, with this "
		 "connection's socket %s: bytes before may be missing", (double)delay / 1e6,
		 f->meta.fd < 0 ? "not known" : "open");
	output_note(ln->out, f, note);
	ln->noted++;
}

static const struct flow_callbacks late_notes_callbacks = {
	.on_close = on_close,
};

int late_notes_attach(struct late_notes *ln, struct sinks *s)
{
	return sinks_add(s, &late_notes_callbacks, ln, NULL);
}
