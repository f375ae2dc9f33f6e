/* The flow table's own layout, shared by its parts: table, byte order per stream, time order. */
#ifndef TLSTAP_FLOWS_INT_H
#define TLSTAP_FLOWS_INT_H

#include "flows.h"
#include "ghosts.h"

#define NBUCKETS_BITS	16
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
	struct chain_link *buckets[1 << NBUCKETS_BITS];
	struct dlist lru;		/* first: most recently active */
	size_t nflows, max_flows;
	struct ctrl *ctrl_head, **ctrl_tail;
	__u64 stamp;		/* given to records arriving now */
	__u64 pending_bytes;
	__u64 pending_chunks;	/* 0: nothing held anywhere, no flow to walk */
	/* Evicted flows, so one seen again goes on from where it was, and
	 * connections whose ends were noted before any of their records came. */
	struct ghosts ghosts;
	size_t pending_cost;	/* as charged to the budget */
	struct mem_budget *budget;	/* NULL: MAX_PENDING_BYTES */
	/* Time order (cb.on_timed): what was admitted, by arrival; stamps only grow along it. */
	struct flow_chunk *timed_head, **timed_tail;
	__u64 timed_seq;
	struct flow_stats st;
};

static inline struct flow *lru_flow(struct dlist_node *l)
{
	return l ? container_of(l, struct flow, lru) : NULL;
}

/* flow_stream.c: one stream's byte order. */
/* A chunk of f (a ring record, read-only): delivered, or held until its turn. */
int fl_stream_data(struct flow_table *ft, struct flow *f, const struct tlstap_data_event *ev);
/* Declares lost whatever is missing before f's dir chunks held since before before_stamp. */
void fl_stream_resolve(struct flow_table *ft, struct flow *f, int dir, __u64 before_stamp);
/* A gap up to upto, if the stream has not reached it. */
void fl_stream_gap(struct flow_table *ft, struct flow *f, int dir, __u64 upto);
/* Frees what f holds, undelivered. */
void fl_stream_drop(struct flow_table *ft, struct flow *f);

/* flow_time.c: both directions by time, for cb.on_timed. */
void fl_time_admit(struct flow_table *ft, struct flow *f, int dir,
		   const struct tlstap_data_event *ev, __u64 gap);
/* Hands on everything of f still waiting, by time (f ends). */
void fl_time_flush(struct flow_table *ft, struct flow *f);
void fl_time_settle(struct flow_table *ft, __u64 before);
void fl_time_free(struct flow_table *ft);

#endif
