/* One stream of a flow in byte order: chunks delivered in place, held behind holes, gaps found exactly. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "flows_int.h"

/* A held chunk leaves the table: delivered or dropped. */
static void unhold(struct flow_table *ft, struct pending *p)
{
	ft->pending_bytes -= p->ev.len;
	ft->pending_chunks--;
	ft->pending_cost -= p->cost;
	if (ft->budget)
		mem_budget_release(ft->budget, p->cost);
}

/* Bytes missing from dir at pos: the time order is told first, as it is of data. */
static void report_gap(struct flow_table *ft, struct flow *f, int dir, __u64 pos, __u64 len,
		       enum gap_reason why)
{
	if (ft->cb.on_timed)
		fl_time_admit(ft, f, dir, NULL, len);
	if (ft->cb.on_gap)
		ft->cb.on_gap(ft->ctx, f, dir, pos, len, why);
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
		report_gap(ft, f, dir, from, len, k == 0 ? GAP_LOST : GAP_SNAPLEN);
		s->next = ranges[k][1];
	}
}

static void deliver(struct flow_table *ft, struct flow *f, const struct tlstap_data_event *ev)
{
	struct flow_stream *s = &f->s[ev->dir];

	memcpy(&f->meta, ev, sizeof(f->meta));
	f->meta.len = 0;
	if (ev->len) {
		f->data_ts = ev->ts_ns;
		/* The time order first: a decoder's word on a connection comes before its raw bytes. */
		if (ft->cb.on_timed)
			fl_time_admit(ft, f, ev->dir, ev, 0);
		if (ft->cb.on_data)
			ft->cb.on_data(ft->ctx, f, ev);
	}
	s->next = ev->pos + ev->len;
	if (ev->lost || ev->skipped)
		tail_gaps(ft, f, ev->dir, s->next, ev->lost, ev->skipped);
}

void fl_stream_gap(struct flow_table *ft, struct flow *f, int dir, __u64 upto)
{
	struct flow_stream *s = &f->s[dir];

	if (upto <= s->next)
		return;
	ft->st.gaps++;
	ft->st.lost_bytes += upto - s->next;
	s->lost_bytes += upto - s->next;
	report_gap(ft, f, dir, s->next, upto - s->next, GAP_LOST);
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

void fl_stream_resolve(struct flow_table *ft, struct flow *f, int dir, __u64 before_stamp)
{
	struct flow_stream *s = &f->s[dir];

	while (s->head && s->head->stamp < before_stamp) {
		fl_stream_gap(ft, f, dir, s->head->ev.pos);
		drain(ft, f, dir);
	}
}

void fl_stream_drop(struct flow_table *ft, struct flow *f)
{
	struct pending *p;
	int dir;

	for (dir = 0; dir < 2; dir++) {
		while ((p = f->s[dir].head)) {
			f->s[dir].head = p->next;
			unhold(ft, p);
			free(p);
		}
		f->s[dir].tail = NULL;
	}
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
		fl_stream_gap(ft, f, dir, s->head->ev.pos);
		drain(ft, f, dir);
	}
}

int fl_stream_data(struct flow_table *ft, struct flow *f, const struct tlstap_data_event *ev)
{
	struct flow_stream *s = &f->s[ev->dir];
	struct tlstap_data_event *copy;
	int err;

	if (ev->pos <= s->next && !s->head) {
		/* In order: straight from the ring record, no copy. */
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
	drain(ft, f, ev->dir);
	if (too_much_held(ft))
		give_up_waiting(ft, f, ev->dir);
	return 0;
}
