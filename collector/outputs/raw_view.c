/* The raw view: chunks straight from the flow table (ring memory, no copy) to the printer. */
#include "raw_view.h"

static void on_data(void *ctx, const struct flow *f, const struct tlstap_data_event *ev)
{
	struct output *o = ctx;

	if (output_done(o) || ev->len > TLSTAP_CHUNK_MAX)
		return;
	o->events++;
	o->bytes += ev->len;
	/* Text with the decoded view: it shows every chunk, HTTP or not, in time order. */
	if (!o->data_to_view)
		output_data(o, ev);
}

static void on_open(void *ctx, const struct flow *f)
{
	output_open(ctx, f);
}

static void on_gap(void *ctx, const struct flow *f, int dir, __u64 pos, __u64 len,
		   enum gap_reason why)
{
	output_gap(ctx, f, dir, pos, len, why);
}

static void on_close(void *ctx, const struct flow *f, enum close_reason why)
{
	output_close(ctx, f, why);
}

const struct flow_callbacks raw_view_callbacks = {
	.on_open = on_open,
	.on_data = on_data,
	.on_gap = on_gap,
	.on_close = on_close,
};
