/* Orders chunks per (connection, direction) stream by byte position, finds gaps exactly, and on request orders both directions by time. */
#ifndef TLSTAP_FLOWS_H
#define TLSTAP_FLOWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "tlstap.h"
#include "mem_budget.h"
#include "dlist.h"

enum gap_reason {
	GAP_LOST = 0,		/* never arrived: ring full, unreadable memory */
	GAP_SNAPLEN = 1,	/* left out on purpose by -s */
};

enum close_reason {
	CLOSE_FD = 0,		/* the process closed the socket */
	CLOSE_EXIT = 1,		/* the process exited */
	CLOSE_END = 2,		/* tlstap stopped */
	CLOSE_EVICTED = 3,	/* too many open flows: the idlest was dropped */
};

/* "close", "exit", "end", "evicted": how outputs name a close reason. */
const char *flow_close_name(enum close_reason why);

/* Consumers of one flow table (live printer, decoded view, pcapng file). */
#define FLOW_SINKS_MAX	4

struct flow {
	__u64 conn_id;
	__u32 pid;
	/* Header of the latest event: addresses, fd, comm, lib (len/data unused). */
	struct tlstap_data_event meta;
	struct flow_stream {
		__u64 next;		/* position of the next byte to deliver */
		struct pending *head;	/* out-of-order chunks, sorted by pos */
		struct pending *tail;
		__u64 lost_bytes;
		/* Where the BPF side says the stream reached (flows_note_end):
		 * anything short of it when the flow ends is a gap. */
		__u64 end;
	} s[2];
	/* Dropped from the table earlier (too many flows) and seen again: its
	 * positions go on from where it was, nothing before is a gap. */
	bool resumed;
	/*
	 * Each sink's own state for this connection, by the slot sinks_add()
	 * gave it: NULL when the flow opens, freed by the sink in on_close
	 * (every flow is closed before it is freed), so no sink needs a second
	 * table of connections.
	 */
	void *sink_state[FLOW_SINKS_MAX];
	/* private */
	__u64 data_ts;		/* of the latest chunk with bytes: where its gaps stand in time */
	size_t timed;		/* its chunks waiting in the time order */
	struct chain_link hlink;	/* in its bucket */
	struct dlist_node lru;
};

/*
 * A chunk (or a gap: gap bytes missing, no data) in time order. The
 * consumer may keep it past the callback (a decoder holding bytes until it
 * knows what they are): it then frees it with flow_chunk_free. Its memory
 * stays charged to the flow table's budget until then.
 */
struct flow_chunk {
	struct flow_chunk *next;	/* the keeper's to use */
	struct flow *flow;		/* private */
	__u64 stamp, seq;		/* the round it arrived in; arrival order */
	__u64 gap;
	unsigned want;			/* what admit returned for it */
	__u32 size;			/* private: the bytes allocated for it */
	struct tlstap_data_event ev;	/* header (+ ev.len bytes) */
};

/* What c is charged to the budget. */
static inline size_t flow_chunk_cost(const struct flow_chunk *c)
{
	return MEM_COST(c->size);
}

/* Frees c and gives its memory back to b, the flow table's budget (NULL: none). */
void flow_chunk_free(struct flow_chunk *c, struct mem_budget *b);
/* Gives the freed chunks kept for reuse back to the heap (flows_free does too:
 * call it again after freeing chunks a consumer kept past the table). */
void flow_chunk_cache_drain(void);

/* A sink's own slot: the one field of a flow its callbacks may write. */
static inline void **flow_sink_state(const struct flow *f, int slot)
{
	return (void **)&((struct flow *)f)->sink_state[slot];
}

struct flow_callbacks {
	void (*on_open)(void *ctx, const struct flow *f);
	/* ev->pos is f->s[ev->dir].next; ev->data holds ev->len bytes. */
	void (*on_data)(void *ctx, const struct flow *f, const struct tlstap_data_event *ev);
	void (*on_gap)(void *ctx, const struct flow *f, int dir, __u64 pos, __u64 len,
		       enum gap_reason why);
	void (*on_close)(void *ctx, const struct flow *f, enum close_reason why);
	/*
	 * Time order across both directions, for a consumer that needs it (a
	 * decoder must read a request before its response, and the two may come
	 * from different CPUs' rings). Only when on_timed is set does the table
	 * keep that order: admit is asked, as each chunk (ev) or gap (ev NULL)
	 * is delivered in its stream's byte order, whether to pass it on again
	 * (nonzero: yes, and the value is kept in the chunk's want for the
	 * consumer to tell who asked); what it admits comes to on_timed by time
	 * once no earlier record can arrive (flows_resolve), and before the
	 * flow's on_close. on_timed returns true when it keeps the chunk.
	 */
	unsigned (*admit)(void *ctx, const struct flow *f, int dir, const struct tlstap_data_event *ev);
	bool (*on_timed)(void *ctx, const struct flow *f, struct flow_chunk *c);
	/* on_timed may keep chunks (for sinks.c: at most one such, called last). */
	bool keeps_chunks;
};

struct flow_stats {
	__u64 flows;
	__u64 gaps;
	__u64 lost_bytes;	/* GAP_LOST */
	__u64 snap_bytes;	/* GAP_SNAPLEN */
	__u64 dup_bytes;	/* bytes seen twice (should never happen) */
	__u64 bad_records;	/* malformed ring records */
	__u64 evicted;
	__u64 resumed;		/* evicted flows seen again */
	__u64 ghosts_forgotten;	/* evicted or noted connections forgotten (too many) */
	/* Holes declared before their time: waiting would have passed the memory budget. */
	__u64 mem_gaps;
	__u64 mem_gap_bytes;
	/* Times the time order was given out without waiting for the rings (memory). */
	__u64 early_settles;
};

struct flow_table;

struct flow_table *flows_new(const struct flow_callbacks *cb, void *ctx, size_t max_flows);
void flows_free(struct flow_table *ft);
/*
 * Chunks held for reordering are charged to b (they must be kept: never
 * refused; decoders give memory back to make room). When they alone pass
 * b's limit, the stream that asked gives up waiting for its missing bytes:
 * they are declared lost (GAP_LOST), counted in mem_gaps. Without a budget
 * a fixed cap of 256 MiB applies.
 */
void flows_set_budget(struct flow_table *ft, struct mem_budget *b);

/* A ring record of size bytes; validated before use. Returns 0 or -EINVAL. */
int flows_record(struct flow_table *ft, const void *rec, size_t size);

/*
 * The reordering protocol, the one clock of the collector (live rounds and
 * -r packets alike). Records are stamped with the consumer's current
 * round (flows_set_stamp). A chunk waiting for earlier bytes of its stream
 * was committed after them, so once every ring has been read to its end in
 * a pass that began after the chunk arrived, the earlier bytes can no
 * longer come: flows_resolve(before) declares lost what is missing in front
 * of chunks stamped before `before`, delivers them, applies the close and
 * exit events stamped before it, then hands on in time order what was
 * admitted before it. With a budget that is pressed, all that waits for
 * time order goes at once (the two directions of a connection may then
 * interleave a little out of time order; counted in early_settles).
 */
void flows_set_stamp(struct flow_table *ft, __u64 stamp);
void flows_resolve(struct flow_table *ft, __u64 before);
/* For a consumer that reads every ring to its end each round:
 * flows_resolve(current stamp), then the next stamp. */
void flows_sweep(struct flow_table *ft);

/*
 * The positions the BPF side says conn_id's streams reached, read from its
 * connection table when the process exited or tlstap stopped: bytes that
 * never arrived (ring full) become a gap when the flow ends. A connection
 * none of whose records arrived is opened from meta so its loss is shown.
 */
void flows_note_end(struct flow_table *ft, const struct tlstap_data_event *meta,
		    const __u64 end_pos[2]);

/* At the end: resolve everything pending and close every flow. */
void flows_finish(struct flow_table *ft);

const struct flow_stats *flows_stats(const struct flow_table *ft);

#endif
