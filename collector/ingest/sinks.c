/* Fan-out of flow events, in the order the sinks were added. */
#include <errno.h>
#include "sinks.h"

_Static_assert(SINKS_MAX <= 32, "struct sinks keeps a bit per sink in an unsigned");

int sinks_add(struct sinks *s, const struct flow_callbacks *cb, void *ctx, int *slot)
{
	if (s->n >= SINKS_MAX)
		return -ENOSPC;
	if (cb->on_timed && cb->keeps_chunks && s->keeper)
		return -EBUSY;
	if (cb->on_timed)
		s->timed |= 1u << s->n;
	if (cb->on_timed && cb->keeps_chunks)
		s->keeper = s->n + 1;
	if (slot)
		*slot = s->n;
	s->cb[s->n] = cb;
	s->ctx[s->n] = ctx;
	s->n++;
	return 0;
}

static void on_open(void *ctx, const struct flow *f)
{
	struct sinks *s = ctx;
	int i;

	for (i = 0; i < s->n; i++)
		if (s->cb[i]->on_open)
			s->cb[i]->on_open(s->ctx[i], f);
}

static void on_data(void *ctx, const struct flow *f, const struct tlstap_data_event *ev)
{
	struct sinks *s = ctx;
	int i;

	for (i = 0; i < s->n; i++)
		if (s->cb[i]->on_data)
			s->cb[i]->on_data(s->ctx[i], f, ev);
}

static void on_gap(void *ctx, const struct flow *f, int dir, __u64 pos, __u64 len,
		   enum gap_reason why)
{
	struct sinks *s = ctx;
	int i;

	for (i = 0; i < s->n; i++)
		if (s->cb[i]->on_gap)
			s->cb[i]->on_gap(s->ctx[i], f, dir, pos, len, why);
}

static void on_close(void *ctx, const struct flow *f, enum close_reason why)
{
	struct sinks *s = ctx;
	int i;

	for (i = 0; i < s->n; i++)
		if (s->cb[i]->on_close)
			s->cb[i]->on_close(s->ctx[i], f, why);
}

/* Which timed sinks want the chunk again (a bit each). */
static unsigned admit(void *ctx, const struct flow *f, int dir, const struct tlstap_data_event *ev)
{
	struct sinks *s = ctx;
	unsigned want = 0;
	int i;

	for (i = 0; i < s->n; i++)
		if ((s->timed & (1u << i)) && (!s->cb[i]->admit || s->cb[i]->admit(s->ctx[i], f, dir, ev)))
			want |= 1u << i;
	return want;
}

/* To each sink that admitted it; the one that may keep it has it last. */
static bool on_timed(void *ctx, const struct flow *f, struct flow_chunk *c)
{
	struct sinks *s = ctx;
	int i, k = s->keeper - 1;

	for (i = 0; i < s->n; i++)
		if (i != k && (c->want & (1u << i)))
			s->cb[i]->on_timed(s->ctx[i], f, c);
	return k >= 0 && (c->want & (1u << k)) && s->cb[k]->on_timed(s->ctx[k], f, c);
}

static const struct flow_callbacks plain = {
	.on_open = on_open, .on_data = on_data, .on_gap = on_gap, .on_close = on_close,
};

static const struct flow_callbacks timed = {
	.on_open = on_open, .on_data = on_data, .on_gap = on_gap, .on_close = on_close,
	.admit = admit, .on_timed = on_timed,
};

const struct flow_callbacks *sinks_callbacks(const struct sinks *s)
{
	return s->timed ? &timed : &plain;
}
