/* Flow table: per-connection streams, reordering across CPU rings, gap accounting. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "flows.h"

#define NBUCKETS	65536
/* Evicted flows remembered, so one seen again goes on from where it was. */
#define NTOMBS		4096
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

/* An evicted flow: the positions it had reached. */
struct tomb {
	__u64 conn_id;		/* 0: free */
	__u64 next[2];
	__u64 end[2];
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
	struct tomb tombs[NTOMBS];	/* by conn_id hash; a newer one replaces */
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

static void remove_flow(struct flow_table *ft, struct flow *f, enum close_reason why)
{
	struct flow **pp = &ft->buckets[bucket_of(f->conn_id)];
	struct pending *p;
	struct tomb *t;
	int dir;

	for (dir = 0; dir < 2; dir++) {
		resolve(ft, f, dir, UINT64_MAX);
		/* Evicted flows may come back: their missing tail is not lost yet. */
		if (why != CLOSE_EVICTED)
			gap(ft, f, dir, f->s[dir].end);
	}
	if (why == CLOSE_EVICTED) {
		t = &ft->tombs[bucket_of(f->conn_id) % NTOMBS];
		t->conn_id = f->conn_id;
		for (dir = 0; dir < 2; dir++) {
			t->next[dir] = f->s[dir].next;
			t->end[dir] = f->s[dir].end;
		}
	}
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

/* A flow evicted earlier goes on from the positions it had reached. */
static void resume(struct flow_table *ft, struct flow *f)
{
	struct tomb *t = &ft->tombs[bucket_of(f->conn_id) % NTOMBS];
	int dir;

	if (!f->conn_id || t->conn_id != f->conn_id)
		return;
	for (dir = 0; dir < 2; dir++) {
		f->s[dir].next = t->next[dir];
		f->s[dir].end = t->end[dir];
	}
	t->conn_id = 0;
	f->resumed = true;
	ft->st.resumed++;
}

static struct flow *get_flow(struct flow_table *ft, const struct tlstap_data_event *ev)
{
	struct flow *f = find(ft, ev->conn_id);
	size_t b;

	if (f) {
		lru_unlink(ft, f);
		lru_push_front(ft, f);
		return f;
	}
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
	resume(ft, f);
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

static void apply_ctrl(struct flow_table *ft, const struct tlstap_ctrl_event *ev)
{
	struct flow *f, *next;
	int dir;

	if (ev->type == TLSTAP_EV_CLOSE) {
		f = find(ft, ev->conn_id);
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
}

void flows_note_end(struct flow_table *ft, const struct tlstap_data_event *meta,
		    const __u64 end_pos[2])
{
	struct flow *f = find(ft, meta->conn_id);
	int dir;

	/* Positions beyond what records may carry are not believed. */
	if (end_pos[0] > (1ull << 62) || end_pos[1] > (1ull << 62))
		return;
	if (!f) {
		if (!end_pos[0] && !end_pos[1])
			return;
		f = get_flow(ft, meta);
		if (!f)
			return;
	}
	for (dir = 0; dir < 2; dir++)
		if (end_pos[dir] > f->s[dir].end)
			f->s[dir].end = end_pos[dir];
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
	free(ft);
}

const struct flow_stats *flows_stats(const struct flow_table *ft)
{
	return &ft->st;
}
