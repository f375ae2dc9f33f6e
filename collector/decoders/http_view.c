/* One HTTP decoder per flow, fed in time order; exchanges, notes and undecided bytes go to the printer. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "wallclock.h"
#include "http_view.h"
#include "httpdec.h"
#include "dlist.h"

/*
 * Bytes decoded while the decoder is still undecided, kept for the raw
 * view (counted as allocated: headers too). Past this (more than its
 * mid-stream search reads in both directions) the flow is shown raw and
 * no longer decoded.
 */
#define HOLD_MAX	(1024 * 1024)

static const char note_memory[] =
	"memory budget (--max-memory) reached: no longer decoding this connection";

/* The view's state of one flow, in the flow's sink slot. */
struct view_flow {
	struct http_view *hv;
	const struct flow *f;
	struct httpdec *dec;
	bool confirmed;			/* HTTP for sure: nothing more to hold */
	bool raw_only;			/* no longer decoded (dec freed): shown raw */
	bool mem_degraded;		/* ... for lack of memory: its bytes are counted */
	/* Text: chunks fed while the decoder is undecided, kept from the flow table. */
	struct flow_chunk *held, **held_tail;
	size_t held_bytes;		/* payload */
	size_t held_cost;		/* as charged to the budget */
	__u64 seq;			/* creation order */
	struct dlist_node all;		/* every view_flow, to free them */
	struct dlist_node decoding;	/* those with a decoder: what reclaim may take from */
};

struct http_view {
	struct http_view_opts o;
	struct output *out;
	int slot;
	struct dlist all, decoding;
	size_t ndecoding;
	__u64 flow_seq;
	struct view_flow *busy;		/* its decoder is running: reclaim leaves it alone */
	struct http_view_stats st;
};

static void reclaim(void *ctx, size_t want);

int http_view_new(struct http_view **out_hv, const struct http_view_opts *o, struct output *out)
{
	struct http_view *hv = calloc(1, sizeof(*hv));

	*out_hv = NULL;
	if (!hv)
		return -ENOMEM;
	hv->o = *o;
	hv->out = out;
	if (o->budget)
		mem_budget_set_reclaim(o->budget, reclaim, hv);
	*out_hv = hv;
	return 0;
}

int http_view_attach(struct http_view *hv, struct sinks *s)
{
	return sinks_add(s, &http_view_callbacks, hv, &hv->slot);
}

static struct view_flow *state_of(const struct http_view *hv, const struct flow *f)
{
	return *flow_sink_state(f, hv->slot);
}

static void drop_held(struct view_flow *vf)
{
	struct flow_chunk *h;

	while ((h = vf->held)) {
		vf->held = h->next;
		flow_chunk_free(h, vf->hv->o.budget);
	}
	vf->held_tail = &vf->held;
	vf->held_bytes = 0;
	vf->held_cost = 0;
}

static void free_decoder(struct view_flow *vf)
{
	if (vf->dec) {
		dlist_unlink(&vf->hv->decoding, &vf->decoding);
		vf->hv->ndecoding--;
	}
	httpdec_free(vf->dec);
	vf->dec = NULL;
}

static void free_flow(struct view_flow *vf)
{
	drop_held(vf);
	free_decoder(vf);
	dlist_unlink(&vf->hv->all, &vf->all);
	free(vf);
}

void http_view_free(struct http_view *hv)
{
	if (!hv)
		return;
	/* Flows freed without an end (an error path) leave their state here. */
	while (hv->all.first)
		free_flow(container_of(hv->all.first, struct view_flow, all));
	if (hv->o.budget && hv->o.budget->reclaim_ctx == hv)
		mem_budget_set_reclaim(hv->o.budget, NULL, NULL);
	free(hv);
}

static void on_exchange(void *ctx, const struct http_exchange *x)
{
	struct view_flow *vf = ctx;

	vf->confirmed = true;
	drop_held(vf);
	output_exchange(vf->hv->out, vf->f, x);
}

static void on_note(void *ctx, const char *note)
{
	struct view_flow *vf = ctx;

	output_note(vf->hv->out, vf->f, note);
}

static void on_h2_frame(void *ctx, int dir, uint8_t type, uint8_t flags, uint32_t stream_id,
			uint32_t length)
{
	struct view_flow *vf = ctx;

	vf->confirmed = true;
	drop_held(vf);
	output_h2_frame(vf->hv->out, vf->f, dir, httpdec_h2_frame_name(type), flags, stream_id,
			length);
}

static const struct httpdec_callbacks dec_callbacks = {
	.on_exchange = on_exchange,
	.on_note = on_note,
	.on_h2_frame = on_h2_frame,
};

/* The state of f's first chunk (ev): a decoder if the budget has room for one. */
static struct view_flow *new_state(struct http_view *hv, const struct flow *f,
				   const struct tlstap_data_event *ev)
{
	struct httpdec_limits lim = { 64 * 1024, 100, hv->o.body_preview, hv->o.budget };
	struct view_flow *vf;
	int err;

	vf = calloc(1, sizeof(*vf));
	if (!vf)
		return NULL;
	vf->hv = hv;
	vf->f = f;
	vf->held_tail = &vf->held;
	vf->seq = hv->flow_seq++;
	/* A stream first seen past its start cannot be trusted from its first byte. */
	err = httpdec_new(&vf->dec, &dec_callbacks, vf, &lim, ev->pos != 0);
	if (err && err != -ENOBUFS) {
		free(vf);
		return NULL;
	}
	*flow_sink_state(f, hv->slot) = vf;
	dlist_push_front(&hv->all, &vf->all);
	if (err) {
		/* No room for one more decoder: the flow is shown raw, in order, and counted. */
		vf->dec = NULL;
		vf->raw_only = vf->mem_degraded = true;
		hv->st.undecoded_conns++;
		on_note(vf, note_memory);
		return vf;
	}
	dlist_push_front(&hv->decoding, &vf->decoding);
	hv->ndecoding++;
	return vf;
}

static void print_held_raw(struct view_flow *vf)
{
	struct flow_chunk *h;

	for (h = vf->held; h; h = h->next)
		if (!h->gap)
			output_raw(vf->hv->out, &h->ev);
	drop_held(vf);
}

/*
 * Decoding of the flow ends: the decoder stopped by itself, or memory is
 * short. Bytes held undecided go to the raw view; otherwise exchanges
 * under way are reported as they stand. The decoder is freed; what comes
 * next is shown raw. for_memory: counted as not decoded.
 */
static void end_decoding(struct view_flow *vf, const char *note, bool for_memory)
{
	struct http_view *hv = vf->hv;

	if (for_memory && !vf->mem_degraded) {
		vf->mem_degraded = true;
		hv->st.undecoded_conns++;
		hv->st.undecoded_bytes += vf->held_bytes;
	}
	if (note)
		on_note(vf, note);
	if (vf->held)
		print_held_raw(vf);
	else
		httpdec_abort(vf->dec);
	free_decoder(vf);
	vf->raw_only = true;
}

static int by_size(const void *a, const void *b)
{
	const struct view_flow *x = *(const struct view_flow *const *)a;
	const struct view_flow *y = *(const struct view_flow *const *)b;
	size_t mx = httpdec_mem(x->dec) + x->held_cost, my = httpdec_mem(y->dec) + y->held_cost;

	if (mx != my)
		return mx > my ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * The budget is short by want bytes: stop decoding the connections that
 * hold the most (the oldest first among equals) until that much is free.
 * The one whose decoder is running is left alone: its own allocation
 * fails instead and it stops by itself.
 */
static void reclaim(void *ctx, size_t want)
{
	struct http_view *hv = ctx;
	struct mem_budget *b = hv->o.budget;
	struct view_flow **v, *vf;
	struct dlist_node *l;
	size_t n = 0, i, freed = 0, before;

	if (!hv->ndecoding)
		return;
	v = malloc(hv->ndecoding * sizeof(*v));
	if (!v)
		return;
	for (l = hv->decoding.first; l && n < hv->ndecoding; l = l->next) {
		vf = container_of(l, struct view_flow, decoding);
		if (vf != hv->busy)
			v[n++] = vf;
	}
	qsort(v, n, sizeof(*v), by_size);
	for (i = 0; i < n && freed < want; i++) {
		before = b->used;
		end_decoding(v[i], note_memory, true);
		freed += before > b->used ? before - b->used : 0;
	}
	free(v);
}

/*
 * Text: keeps a fed chunk until the decoder has said what the flow is. It
 * was charged by the flow table; held, it is memory reclaim may take back.
 */
static bool keep(struct view_flow *vf, struct flow_chunk *c)
{
	struct mem_budget *b = vf->hv->o.budget;
	char note[128];

	if (vf->confirmed)
		return false;
	if (vf->held_cost + flow_chunk_cost(c) > HOLD_MAX) {
		/* Undecided after this much: show it raw, stop decoding. */
		snprintf(note, sizeof(note), "undecided after %d KiB: no longer decoding this connection",
			 HOLD_MAX / 1024);
		end_decoding(vf, note, true);
		return false;
	}
	/* Over the budget with nothing else to give: this one goes. */
	if (b && mem_budget_over(b)) {
		end_decoding(vf, note_memory, true);
		return false;
	}
	c->next = NULL;
	*vf->held_tail = c;
	vf->held_tail = &c->next;
	vf->held_bytes += c->ev.len;
	vf->held_cost += flow_chunk_cost(c);
	return true;
}

/* A chunk of a flow no longer decoded: the raw view, in time order. */
static void pass_raw(struct view_flow *vf, const struct flow_chunk *c)
{
	if (c->gap)
		return;
	if (vf->mem_degraded)
		vf->hv->st.undecoded_bytes += c->ev.len;
	if (vf->hv->out->mode == OUT_TEXT)
		output_raw(vf->hv->out, &c->ev);
}

/* Feeds one chunk in time order; returns true when the view kept it. */
static bool on_timed(void *ctx, const struct flow *f, struct flow_chunk *c)
{
	struct http_view *hv = ctx;
	struct view_flow *vf = state_of(hv, f);
	bool kept;

	if (!vf)
		return false;
	if (vf->raw_only || !httpdec_is_http(vf->dec)) {
		pass_raw(vf, c);
		return false;
	}
	/* Until the chunk is placed, making room must not take this flow's state away. */
	hv->busy = vf;
	if (c->gap)
		httpdec_gap(vf->dec, (int)c->ev.dir, c->gap);
	else
		httpdec_feed(vf->dec, (int)c->ev.dir, c->ev.data, c->ev.len,
			     (__u64)wallclock_ns(c->ev.ts_ns, hv->out->mono_to_real_ns));
	if (!httpdec_is_http(vf->dec)) {
		/* It stopped here (not HTTP, an upgrade, a tunnel, out of memory): what it
		 * held and this chunk go to the raw view. It said why itself. */
		end_decoding(vf, NULL, httpdec_over_budget(vf->dec));
		kept = false;
	} else {
		kept = hv->out->mode == OUT_TEXT && keep(vf, c);
	}
	hv->busy = NULL;
	if (!kept && vf->raw_only)
		pass_raw(vf, c);
	return kept;
}

/* A chunk (ev) or gap (NULL) delivered in byte order: whether to have it again in time order. */
static unsigned admit(void *ctx, const struct flow *f, int dir, const struct tlstap_data_event *ev)
{
	struct http_view *hv = ctx;
	struct view_flow *vf = state_of(hv, f);

	if (!ev)
		return vf && httpdec_is_http(vf->dec) && !vf->raw_only;
	if (!vf)
		vf = new_state(hv, f, ev);
	if (!vf) {
		/* No state for it: its bytes are shown raw at once rather than not at all. */
		if (hv->out->mode == OUT_TEXT)
			output_raw(hv->out, ev);
		return false;
	}
	/* Text: every chunk goes through the time order, so raw and decoded views
	 * stay in order; JSON prints data itself and needs only HTTP ones. */
	if (hv->out->mode != OUT_TEXT && !httpdec_is_http(vf->dec)) {
		if (vf->mem_degraded)
			hv->st.undecoded_bytes += ev->len;
		return false;
	}
	return true;
}

static void on_close(void *ctx, const struct flow *f, enum close_reason why)
{
	struct http_view *hv = ctx;
	struct view_flow *vf = state_of(hv, f);
	struct timespec now;

	if (!vf)
		return;
	/* The flow table handed on everything of it before this. */
	clock_gettime(CLOCK_REALTIME, &now);
	if (httpdec_is_http(vf->dec)) {
		hv->busy = vf;
		httpdec_close(vf->dec, (__u64)now.tv_sec * 1000000000ull + (__u64)now.tv_nsec);
		hv->busy = NULL;
	}
	/* Never decided: show the bytes raw rather than nothing. */
	if (hv->out->mode == OUT_TEXT && !vf->confirmed)
		print_held_raw(vf);
	free_flow(vf);
	*flow_sink_state(f, hv->slot) = NULL;
}

void http_view_stats(const struct http_view *hv, struct http_view_stats *st)
{
	*st = hv->st;
}

const struct flow_callbacks http_view_callbacks = {
	.on_close = on_close,
	.admit = admit,
	.on_timed = on_timed,
	.keeps_chunks = true,
};
