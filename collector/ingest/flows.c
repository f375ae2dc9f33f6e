/* Flow table: per-connection streams, reordering across CPU rings, gap accounting. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "flows.h"
#include "ghosts.h"

#define NBUCKETS	65536
/* Without a budget: out-of-order bytes held at most before the missing ones are declared lost. */
#define MAX_PENDING_BYTES	(256ull << 20)

struct pending {
	struct pending *next;
	__u64 stamp;		/* the consumer's round when it arrived */
	size_t cost;		/* charged to the budget */
	struct tlstap_data_event ev;	/* followed by ev.len bytes */
};

struct ctrl {
	struct ctrl *next;
	__u64 stamp;
	struct tlstap_ctrl_event ev;
};

struct flow_table {
	struct flow_callbacks cb;
	void *ctx;
	struct flow *buckets[NBUCKETS];
	struct flow *lru_head, *lru_tail;	/* head: most recently active */
	size_t nflows, max_flows;
	struct ctrl *ctrl_head, *ctrl_tail;
	__u64 stamp;		/* given to records arriving now */
	__u64 pending_bytes;
	__u64 pending_chunks;	/* 0: nothing held anywhere, no flow to walk */
	/* Evicted flows, so one seen again goes on from where it was, and
	 * connections whose ends were noted before any of their records came. */
	struct ghosts ghosts;
	size_t pending_cost;	/* as charged to the budget */
	struct mem_budget *budget;	/* NULL: MAX_PENDING_BYTES */
	struct flow_stats st;
};

static size_t bucket_of(__u64 conn_id)
{
	return (size_t)((conn_id * 0x9E3779B97F4A7C15ull) >> 48) % NBUCKETS;
}

struct flow_table *flows_new(const struct flow_callbacks *cb, void *ctx, size_t max_flows)
{
	struct flow_table *ft = calloc(1, sizeof(*ft));

	if (!ft)
		return NULL;
	ft->cb = *cb;
	ft->ctx = ctx;
	ft->max_flows = max_flows ? max_flows : 1;
	return ft;
}

void flows_set_budget(struct flow_table *ft, struct mem_budget *b)
{
	ft->budget = b;
}

/* A held chunk leaves the table: delivered or dropped. */
static void unhold(struct flow_table *ft, struct pending *p)
{
	ft->pending_bytes -= p->ev.len;
	ft->pending_chunks--;
	ft->pending_cost -= p->cost;
	if (ft->budget)
		mem_budget_release(ft->budget, p->cost);
}

static struct flow *find(struct flow_table *ft, __u64 conn_id)
{
	struct flow *f;

	for (f = ft->buckets[bucket_of(conn_id)]; f; f = f->hnext)
		if (f->conn_id == conn_id)
			return f;
	return NULL;
}

static void lru_unlink(struct flow_table *ft, struct flow *f)
{
	if (f->lprev)
		f->lprev->lnext = f->lnext;
	else
		ft->lru_head = f->lnext;
	if (f->lnext)
		f->lnext->lprev = f->lprev;
	else
		ft->lru_tail = f->lprev;
	f->lprev = f->lnext = NULL;
}

static void lru_push_front(struct flow_table *ft, struct flow *f)
{
	f->lnext = ft->lru_head;
	f->lprev = NULL;
	if (ft->lru_head)
		ft->lru_head->lprev = f;
	ft->lru_head = f;
	if (!ft->lru_tail)
		ft->lru_tail = f;
}

/*
 * The bytes after a chunk that no record carries: lost ones, then ones the
 * snaplen left out. Only the part beyond what was delivered counts.
 */
static void tail_gaps(struct flow_table *ft, struct flow *f, int dir, __u64 start,
		      __u64 lost, __u64 skipped)
{
	struct flow_stream *s = &f->s[dir];
	__u64 ranges[2][2] = { { start, start + lost }, { start + lost, start + lost + skipped } };
	__u64 from, len;
	int k;

	for (k = 0; k < 2; k++) {
		from = ranges[k][0] > s->next ? ranges[k][0] : s->next;
		if (ranges[k][1] <= from)
			continue;
		len = ranges[k][1] - from;
		ft->st.gaps++;
		if (k == 0) {
			ft->st.lost_bytes += len;
			s->lost_bytes += len;
		} else {
			ft->st.snap_bytes += len;
		}
		if (ft->cb.on_gap)
			ft->cb.on_gap(ft->ctx, f, dir, from, len, k == 0 ? GAP_LOST : GAP_SNAPLEN);
		s->next = ranges[k][1];
	}
}

static void deliver(struct flow_table *ft, struct flow *f, const struct tlstap_data_event *ev)
{
	struct flow_stream *s = &f->s[ev->dir];

	memcpy(&f->meta, ev, sizeof(f->meta));
	f->meta.len = 0;
	if (ft->cb.on_data && ev->len)
		ft->cb.on_data(ft->ctx, f, ev);
	s->next = ev->pos + ev->len;
	if (ev->lost || ev->skipped)
		tail_gaps(ft, f, ev->dir, s->next, ev->lost, ev->skipped);
}

static void gap(struct flow_table *ft, struct flow *f, int dir, __u64 upto)
{
	struct flow_stream *s = &f->s[dir];

	if (upto <= s->next)
		return;
	ft->st.gaps++;
	ft->st.lost_bytes += upto - s->next;
	s->lost_bytes += upto - s->next;
	if (ft->cb.on_gap)
		ft->cb.on_gap(ft->ctx, f, dir, s->next, upto - s->next, GAP_LOST);
	s->next = upto;
}

/* Delivers a chunk that starts at or before next, trimming bytes already seen. */
static void deliver_overlapping(struct flow_table *ft, struct flow *f, struct tlstap_data_event *ev)
{
	struct flow_stream *s = &f->s[ev->dir];
	__u64 seen;

	if (ev->pos < s->next) {
		seen = s->next - ev->pos;
		if (seen >= ev->len) {
			ft->st.dup_bytes += ev->len;
			/* Its tail may still reach past what was delivered. */
			tail_gaps(ft, f, ev->dir, ev->pos + ev->len, ev->lost, ev->skipped);
			return;
		}
		ft->st.dup_bytes += seen;
		memmove(ev->data, ev->data + seen, ev->len - seen);
		ev->len -= (__u32)seen;
		ev->pos = s->next;
	}
	deliver(ft, f, ev);
}

/* Delivers the pending chunks that have become contiguous. */
static void drain(struct flow_table *ft, struct flow *f, int dir)
{
	struct flow_stream *s = &f->s[dir];
	struct pending *p;

	while ((p = s->head) && p->ev.pos <= s->next) {
		s->head = p->next;
		if (!s->head)
			s->tail = NULL;
		unhold(ft, p);
		deliver_overlapping(ft, f, &p->ev);
		free(p);
	}
}

/* Declares lost whatever is missing before pending chunks older than stamp. */
static void resolve(struct flow_table *ft, struct flow *f, int dir, __u64 before_stamp)
{
	struct flow_stream *s = &f->s[dir];

	while (s->head && s->head->stamp < before_stamp) {
		gap(ft, f, dir, s->head->ev.pos);
		drain(ft, f, dir);
	}
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
	struct flow **pp = &ft->buckets[bucket_of(f->conn_id)];
	struct pending *p;
	int dir;

	for (dir = 0; dir < 2; dir++) {
		resolve(ft, f, dir, UINT64_MAX);
		/* Evicted flows may come back: their missing tail is not lost yet. */
		if (why != CLOSE_EVICTED)
			gap(ft, f, dir, f->s[dir].end);
	}
	if (why == CLOSE_EVICTED)
		bury(ft, f);
	if (ft->cb.on_close)
		ft->cb.on_close(ft->ctx, f, why);
	while (*pp && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = f->hnext;
	lru_unlink(ft, f);
	for (dir = 0; dir < 2; dir++) {
		while ((p = f->s[dir].head)) {
			f->s[dir].head = p->next;
			unhold(ft, p);
			free(p);
		}
		f->s[dir].tail = NULL;
	}
	ft->nflows--;
	free(f);
}

/* A new flow for ev's connection, after evicting the idlest if the table is full. */
static struct flow *new_flow(struct flow_table *ft, const struct tlstap_data_event *ev,
			     const struct ghost *from)
{
	struct flow *f;
	size_t b;
	int dir;

	if (ft->nflows >= ft->max_flows && ft->lru_tail) {
		ft->st.evicted++;
		remove_flow(ft, ft->lru_tail, CLOSE_EVICTED);
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
	b = bucket_of(ev->conn_id);
	f->hnext = ft->buckets[b];
	ft->buckets[b] = f;
	lru_push_front(ft, f);
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
		lru_unlink(ft, f);
		lru_push_front(ft, f);
		return f;
	}
	g = ghosts_find(&ft->ghosts, ev->conn_id);
	return g ? revive(ft, g, ev) : new_flow(ft, ev, NULL);
}

static int hold(struct flow_table *ft, struct flow *f, const struct tlstap_data_event *ev)
{
	struct flow_stream *s = &f->s[ev->dir];
	struct pending *p, **pp;

	p = malloc(sizeof(*p) + ev->len);
	if (!p)
		return -ENOMEM;
	memcpy(&p->ev, ev, sizeof(*ev) + ev->len);
	p->stamp = ft->stamp;
	p->cost = MEM_COST(sizeof(*p) + ev->len);
	/* Chunks mostly come in order behind a hole: append in O(1). */
	if (s->tail && s->tail->ev.pos <= ev->pos) {
		p->next = NULL;
		s->tail->next = p;
		s->tail = p;
	} else {
		for (pp = &s->head; *pp && (*pp)->ev.pos <= ev->pos; pp = &(*pp)->next)
			;
		p->next = *pp;
		*pp = p;
		if (!p->next)
			s->tail = p;
	}
	ft->pending_chunks++;
	ft->pending_bytes += ev->len;
	ft->pending_cost += p->cost;
	/* Raw data is kept whatever the budget says: decoders make room for it. */
	if (ft->budget)
		mem_budget_force(ft->budget, p->cost);
	return 0;
}

/*
 * Whether waiting for missing bytes takes the whole memory budget by
 * itself: decoders have given way already, and the data read this round
 * (also charged) is on its way out.
 */
static bool too_much_held(const struct flow_table *ft)
{
	if (ft->budget && ft->budget->limit)
		return ft->pending_cost > ft->budget->limit;
	return ft->pending_bytes > MAX_PENDING_BYTES;
}

/* Declares lost at once what this stream waits for, and delivers what it held. */
static void give_up_waiting(struct flow_table *ft, struct flow *f, int dir)
{
	struct flow_stream *s = &f->s[dir];

	while (s->head) {
		if (s->head->ev.pos > s->next) {
			ft->st.mem_gaps++;
			ft->st.mem_gap_bytes += s->head->ev.pos - s->next;
		}
		gap(ft, f, dir, s->head->ev.pos);
		drain(ft, f, dir);
	}
}

static int data_record(struct flow_table *ft, const struct tlstap_data_event *ev, size_t size)
{
	struct flow *f;
	struct flow_stream *s;
	int dir, err;

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
	dir = ev->dir;
	s = &f->s[dir];
	if (ev->pos <= s->next && !s->head) {
		struct tlstap_data_event *copy;

		if (ev->pos == s->next) {
			deliver(ft, f, ev);
			return 0;
		}
		/* Overlap: trim on a private copy, the ring record is read-only. */
		copy = malloc(sizeof(*ev) + ev->len);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, ev, sizeof(*ev) + ev->len);
		deliver_overlapping(ft, f, copy);
		free(copy);
		return 0;
	}
	err = hold(ft, f, ev);
	if (err)
		return err;
	drain(ft, f, dir);
	if (too_much_held(ft))
		give_up_waiting(ft, f, dir);
	return 0;
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
	if (ft->ctrl_tail)
		ft->ctrl_tail->next = c;
	else
		ft->ctrl_head = c;
	ft->ctrl_tail = c;
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
	for (g = ft->ghosts.oldest; g && ids; g = newer) {
		newer = g->newer;
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
			resolve(ft, f, dir, UINT64_MAX);
			if (ev->end_pos[dir] < UINT64_MAX / 2)
				gap(ft, f, dir, ev->end_pos[dir]);
		}
		remove_flow(ft, f, CLOSE_FD);
		return;
	}
	for (f = ft->lru_head; f; f = next) {
		next = f->lnext;
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
	for (f = ft->pending_chunks ? ft->lru_head : NULL; f; f = f->lnext)
		for (dir = 0; dir < 2; dir++)
			if (f->s[dir].head)
				resolve(ft, f, dir, before);
	while ((c = ft->ctrl_head) && c->stamp < before) {
		ft->ctrl_head = c->next;
		if (!ft->ctrl_head)
			ft->ctrl_tail = NULL;
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

	while ((c = ft->ctrl_head)) {
		ft->ctrl_head = c->next;
		apply_ctrl(ft, &c->ev);
		free(c);
	}
	ft->ctrl_tail = NULL;
	while (ft->lru_head)
		remove_flow(ft, ft->lru_head, CLOSE_END);
	/* The table is empty now: reviving evicts nothing. */
	bury_ghosts(ft, 0, true, CLOSE_END);
}

void flows_free(struct flow_table *ft)
{
	struct ctrl *c;
	struct flow *f;
	struct pending *p;
	int dir;

	if (!ft)
		return;
	while ((f = ft->lru_head)) {
		lru_unlink(ft, f);
		for (dir = 0; dir < 2; dir++) {
			while ((p = f->s[dir].head)) {
				f->s[dir].head = p->next;
				unhold(ft, p);
				free(p);
			}
		}
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
