/* Flow table: one record per connection, found by id, evicted when idle, ended by close and exit events. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "flows_int.h"

const char *flow_close_name(enum close_reason why)
{
	static const char *const names[] = { "close", "exit", "end", "evicted" };

	return (unsigned int)why < 4 ? names[why] : "end";
}

static struct chain_link **bucket_of(struct flow_table *ft, __u64 conn_id)
{
	return &ft->buckets[hash_bucket(conn_id, NBUCKETS_BITS)];
}

struct flow_table *flows_new(const struct flow_callbacks *cb, void *ctx, size_t max_flows)
{
	struct flow_table *ft = calloc(1, sizeof(*ft));

	if (!ft)
		return NULL;
	ft->cb = *cb;
	ft->ctx = ctx;
	ft->max_flows = max_flows ? max_flows : 1;
	ft->timed_tail = &ft->timed_head;
	ft->ctrl_tail = &ft->ctrl_head;
	return ft;
}

void flows_set_budget(struct flow_table *ft, struct mem_budget *b)
{
	ft->budget = b;
}

static struct flow *find(struct flow_table *ft, __u64 conn_id)
{
	return chain_find(*bucket_of(ft, conn_id), struct flow, hlink, conn_id, conn_id);
}

/*
 * A ghost forgotten to keep the set bounded: whatever it still expected is
 * counted as lost (there is no flow left to show it on), and if it comes
 * back its earlier bytes show as a gap.
 */
static void forget(struct flow_table *ft, struct ghost *g)
{
	int dir;

	ft->st.ghosts_forgotten++;
	for (dir = 0; dir < 2; dir++) {
		if (g->end[dir] > g->next[dir]) {
			ft->st.gaps++;
			ft->st.lost_bytes += g->end[dir] - g->next[dir];
		}
	}
	free(g);
}

/* Keeps what an evicted flow had reached (and what it still expects). */
static void bury(struct flow_table *ft, const struct flow *f)
{
	struct ghost *g, *gone;
	int dir;

	g = ghosts_add(&ft->ghosts, &f->meta, &gone);
	if (gone)
		forget(ft, gone);
	if (!g)
		return;
	for (dir = 0; dir < 2; dir++) {
		g->next[dir] = f->s[dir].next;
		g->end[dir] = f->s[dir].end;
	}
	g->evicted = true;
}

static void remove_flow(struct flow_table *ft, struct flow *f, enum close_reason why)
{
	int dir;

	for (dir = 0; dir < 2; dir++) {
		fl_stream_resolve(ft, f, dir, UINT64_MAX);
		/* Evicted flows may come back: their missing tail is not lost yet. */
		if (why != CLOSE_EVICTED)
			fl_stream_gap(ft, f, dir, f->s[dir].end);
	}
	if (why == CLOSE_EVICTED)
		bury(ft, f);
	/* What waits for time order goes before the end. */
	if (ft->cb.on_timed)
		fl_time_flush(ft, f);
	if (ft->cb.on_close)
		ft->cb.on_close(ft->ctx, f, why);
	chain_del(&f->hlink);
	dlist_unlink(&ft->lru, &f->lru);
	fl_stream_drop(ft, f);
	ft->nflows--;
	free(f);
}

/* A new flow for ev's connection, after evicting the idlest if the table is full. */
static struct flow *new_flow(struct flow_table *ft, const struct tlstap_data_event *ev,
			     const struct ghost *from)
{
	struct flow *f;
	int dir;

	if (ft->nflows >= ft->max_flows && ft->lru.last) {
		ft->st.evicted++;
		remove_flow(ft, lru_flow(ft->lru.last), CLOSE_EVICTED);
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->conn_id = ev->conn_id;
	f->pid = ev->pid;
	memcpy(&f->meta, ev, sizeof(f->meta));
	f->meta.len = 0;
	/* A connection known before goes on from the positions it had reached. */
	for (dir = 0; from && dir < 2; dir++) {
		f->s[dir].next = from->next[dir];
		f->s[dir].end = from->end[dir];
	}
	if (from && from->evicted) {
		f->resumed = true;
		ft->st.resumed++;
	}
	chain_add(bucket_of(ft, ev->conn_id), &f->hlink);
	dlist_push_front(&ft->lru, &f->lru);
	ft->nflows++;
	ft->st.flows++;
	if (ft->cb.on_open)
		ft->cb.on_open(ft->ctx, f);
	return f;
}

/* A ghost becomes a flow again: ev, when given, is the record that brought it back. */
static struct flow *revive(struct flow_table *ft, struct ghost *g, const struct tlstap_data_event *ev)
{
	struct flow *f;

	ghosts_remove(&ft->ghosts, g);
	f = new_flow(ft, ev ? ev : &g->meta, g);
	free(g);
	return f;
}

static struct flow *get_flow(struct flow_table *ft, const struct tlstap_data_event *ev)
{
	struct flow *f = find(ft, ev->conn_id);
	struct ghost *g;

	if (f) {
		dlist_unlink(&ft->lru, &f->lru);
		dlist_push_front(&ft->lru, &f->lru);
		return f;
	}
	g = ghosts_find(&ft->ghosts, ev->conn_id);
	return g ? revive(ft, g, ev) : new_flow(ft, ev, NULL);
}

static int data_record(struct flow_table *ft, const struct tlstap_data_event *ev, size_t size)
{
	struct flow *f;

	/* Bounds that keep every later sum of positions far from overflow. */
	if (size < sizeof(*ev) || ev->len > TLSTAP_CHUNK_MAX || ev->len > size - sizeof(*ev) ||
	    ev->dir > 1 || ev->pos > (1ull << 62) || ev->lost > (1ull << 60) ||
	    ev->skipped > (1ull << 60)) {
		ft->st.bad_records++;
		return -EINVAL;
	}
	f = get_flow(ft, ev);
	if (!f)
		return -ENOMEM;
	return fl_stream_data(ft, f, ev);
}

static int ctrl_record(struct flow_table *ft, const struct tlstap_ctrl_event *ev, size_t size)
{
	struct ctrl *c;

	if (size < sizeof(*ev)) {
		ft->st.bad_records++;
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->ev = *ev;
	c->stamp = ft->stamp;
	*ft->ctrl_tail = c;
	ft->ctrl_tail = &c->next;
	return 0;
}

int flows_record(struct flow_table *ft, const void *rec, size_t size)
{
	__u16 type;

	if (size < sizeof(type)) {
		ft->st.bad_records++;
		return -EINVAL;
	}
	memcpy(&type, rec, sizeof(type));
	switch (type) {
	case TLSTAP_EV_DATA:
		return data_record(ft, rec, size);
	case TLSTAP_EV_CLOSE:
	case TLSTAP_EV_EXIT:
		return ctrl_record(ft, rec, size);
	default:
		ft->st.bad_records++;
		return -EINVAL;
	}
}

/*
 * The ghosts of pid's connections (all: of every process) end: those that
 * still expect bytes come back as flows just long enough to show them as a
 * gap; the others simply go.
 */
static void bury_ghosts(struct flow_table *ft, __u32 pid, bool all, enum close_reason why)
{
	struct ghost *g, *newer;
	struct flow *f;
	__u64 *ids = NULL;
	size_t n = 0, i;

	/* Reviving may evict a flow and so add (or forget) ghosts: ids first. */
	if (ft->ghosts.n)
		ids = calloc(ft->ghosts.n, sizeof(*ids));
	for (g = ghosts_oldest(&ft->ghosts); g && ids; g = newer) {
		newer = ghosts_newer(g);
		if (!all && g->meta.pid != pid)
			continue;
		if (g->end[0] > g->next[0] || g->end[1] > g->next[1]) {
			ids[n++] = g->meta.conn_id;
		} else {
			ghosts_remove(&ft->ghosts, g);
			free(g);
		}
	}
	for (i = 0; i < n; i++) {
		g = ghosts_find(&ft->ghosts, ids[i]);
		f = g ? revive(ft, g, NULL) : NULL;
		if (f)
			remove_flow(ft, f, why);
	}
	free(ids);
}

static void apply_ctrl(struct flow_table *ft, const struct tlstap_ctrl_event *ev)
{
	struct flow *f, *next;
	struct ghost *g;
	int dir;

	if (ev->type == TLSTAP_EV_CLOSE) {
		f = find(ft, ev->conn_id);
		if (!f) {
			/* Evicted, or known only by its noted ends: it ends now. */
			g = ghosts_find(&ft->ghosts, ev->conn_id);
			f = g ? revive(ft, g, NULL) : NULL;
		}
		if (!f)
			return;
		for (dir = 0; dir < 2; dir++) {
			fl_stream_resolve(ft, f, dir, UINT64_MAX);
			if (ev->end_pos[dir] < UINT64_MAX / 2)
				fl_stream_gap(ft, f, dir, ev->end_pos[dir]);
		}
		remove_flow(ft, f, CLOSE_FD);
		return;
	}
	for (f = lru_flow(ft->lru.first); f; f = next) {
		next = lru_flow(f->lru.next);
		if (f->pid == ev->pid)
			remove_flow(ft, f, CLOSE_EXIT);
	}
	bury_ghosts(ft, ev->pid, false, CLOSE_EXIT);
}

void flows_note_end(struct flow_table *ft, const struct tlstap_data_event *meta,
		    const __u64 end_pos[2])
{
	struct flow *f = find(ft, meta->conn_id);
	struct ghost *g, *gone;
	int dir;

	/* Positions beyond what records may carry are not believed. */
	if (end_pos[0] > (1ull << 62) || end_pos[1] > (1ull << 62))
		return;
	if (f) {
		for (dir = 0; dir < 2; dir++)
			if (end_pos[dir] > f->s[dir].end)
				f->s[dir].end = end_pos[dir];
		return;
	}
	/*
	 * No flow: an evicted one, or none of its records has arrived (yet:
	 * they may wait in another ring). A ghost keeps the ends, so no flow is
	 * opened from this made-up header before its records are read.
	 */
	g = ghosts_find(&ft->ghosts, meta->conn_id);
	if (!g) {
		if (!end_pos[0] && !end_pos[1])
			return;
		g = ghosts_add(&ft->ghosts, meta, &gone);
		if (gone)
			forget(ft, gone);
		if (!g)
			return;
	}
	for (dir = 0; dir < 2; dir++)
		if (end_pos[dir] > g->end[dir])
			g->end[dir] = end_pos[dir];
}

void flows_set_stamp(struct flow_table *ft, __u64 stamp)
{
	ft->stamp = stamp;
}

void flows_resolve(struct flow_table *ft, __u64 before)
{
	struct flow *f;
	struct ctrl *c;
	int dir;

	/* Most rounds hold nothing: no walk over every open flow then. */
	for (f = ft->pending_chunks ? lru_flow(ft->lru.first) : NULL; f; f = lru_flow(f->lru.next))
		for (dir = 0; dir < 2; dir++)
			if (f->s[dir].head)
				fl_stream_resolve(ft, f, dir, before);
	/*
	 * What the rounds settle goes in time order before the ends they saw:
	 * a connection that ends now is not over for the other flows'
	 * consumers until their earlier chunks are in (the pcapng file writes
	 * a connection traced at both ends from one end while the other lives).
	 */
	if (ft->cb.on_timed)
		fl_time_settle(ft, before);
	while ((c = ft->ctrl_head) && c->stamp < before) {
		ft->ctrl_head = c->next;
		if (!ft->ctrl_head)
			ft->ctrl_tail = &ft->ctrl_head;
		apply_ctrl(ft, &c->ev);
		free(c);
	}
}

void flows_sweep(struct flow_table *ft)
{
	flows_resolve(ft, ft->stamp);
	ft->stamp++;
}

void flows_finish(struct flow_table *ft)
{
	struct ctrl *c;

	/* What waits for time order goes in time order, not flow by flow as each ends. */
	if (ft->cb.on_timed)
		fl_time_settle(ft, UINT64_MAX);
	while ((c = ft->ctrl_head)) {
		ft->ctrl_head = c->next;
		apply_ctrl(ft, &c->ev);
		free(c);
	}
	ft->ctrl_tail = &ft->ctrl_head;
	while (ft->lru.first)
		remove_flow(ft, lru_flow(ft->lru.first), CLOSE_END);
	/* The table is empty now: reviving evicts nothing. */
	bury_ghosts(ft, 0, true, CLOSE_END);
}

void flows_free(struct flow_table *ft)
{
	struct ctrl *c;
	struct flow *f;

	if (!ft)
		return;
	/* Queued chunks point at their flows: they go first. */
	fl_time_free(ft);
	while ((f = lru_flow(ft->lru.first))) {
		dlist_unlink(&ft->lru, &f->lru);
		fl_stream_drop(ft, f);
		free(f);
	}
	while ((c = ft->ctrl_head)) {
		ft->ctrl_head = c->next;
		free(c);
	}
	ghosts_free(&ft->ghosts);
	free(ft);
}

const struct flow_stats *flows_stats(const struct flow_table *ft)
{
	return &ft->st;
}
