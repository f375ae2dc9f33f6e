/* Writing records to this CPU's ring: control events, and a call's plaintext in chunks. */
#ifndef TLSTAP_EMIT_BPF_H
#define TLSTAP_EMIT_BPF_H

#include "tlstap.h"
#include "maps.bpf.h"

/* False when the rings were full: the event is lost (and counted). */
static __always_inline bool emit_ctrl(__u16 type, __u32 pid, __u64 conn_id, __u64 *end_pos,
				      __u32 netns)
{
	struct tlstap_ctrl_event *e = RESERVE_ANY(sizeof(*e));
	struct tlstap_stats *st;

	if (!e) {
		st = cpu_stats();
		if (st)
			__sync_fetch_and_add(&st->ctrl_lost, 1);
		return false;
	}
	e->type = type;
	e->pad = 0;
	e->pid = pid;
	e->ts_ns = bpf_ktime_get_ns();
	e->conn_id = conn_id;
	e->end_pos[0] = end_pos ? end_pos[0] : 0;
	e->end_pos[1] = end_pos ? end_pos[1] : 0;
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->netns = netns;
	e->pad2 = 0;
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return true;
}

struct emit_ctx {
	void *ring;		/* this CPU's fast ring */
	void *over;		/* and its -B ring, or NULL */
	__u64 src;
	__u32 total;		/* bytes to capture */
	__u32 done;
	__u64 lost_tail;	/* bytes after the capture that are lost (beyond 2 GiB) */
	__u64 skipped;		/* bytes after the capture, beyond snaplen */
	/* TLSTAP_BUF_IOVEC: the user's array, 0 for a flat buffer. src is kept
	 * so that src + done is the next byte of the current segment. */
	__u64 iov;
	__u32 seg;		/* segments read */
	__u32 seg_left;		/* bytes left in the current one */
	struct tlstap_stats *st;
	struct tlstap_data_event hdr;	/* last: it ends in a flexible array */
};

/*
 * Records come in a few fixed sizes because bpf_ringbuf_reserve() needs a
 * constant size; the data is then read straight into the reserved record.
 */
#define EMIT_SIZED(SIZE)							\
	do {									\
		struct tlstap_data_event *e = NULL;				\
		__u64 avail = 0, wake = fast_wakeup;				\
		bool over = false;						\
		/* The fast ring only while the -B ring is empty: what waits	\
		 * there is newer than what waits in the fast ring (but for a	\
		 * program preempted between query and reserve), so reading	\
		 * this CPU's fast ring first keeps a stream's records in	\
		 * order. Once used, the -B ring takes every record until the	\
		 * collector has read it empty. */				\
		if (c->over)							\
			avail = bpf_ringbuf_query(c->over, BPF_RB_AVAIL_DATA);	\
		if (!avail) {							\
			avail = bpf_ringbuf_query(c->ring, BPF_RB_AVAIL_DATA);	\
			if (avail <= fast_limit)				\
				e = bpf_ringbuf_reserve(c->ring, sizeof(*e) + (SIZE), 0); \
			if (!e && c->over)					\
				avail = 0;					\
		}								\
		if (!e && c->over && avail <= over_limit) {			\
			wake = over_wakeup;					\
			e = bpf_ringbuf_reserve(c->over, sizeof(*e) + (SIZE), 0); \
			over = true;						\
		}								\
		if (!e)								\
			goto full;						\
		__builtin_memcpy(e, &c->hdr, sizeof(*e));			\
		e->pos = c->hdr.pos + c->done;					\
		e->len = n;							\
		if (c->done == 0)						\
			e->flags |= TLSTAP_F_CALL_START;			\
		else								\
			e->flags &= ~TLSTAP_F_NEW_CONN;				\
		if (last) {							\
			e->flags |= TLSTAP_F_CALL_END;				\
			e->lost = c->lost_tail;					\
			e->skipped = c->skipped;				\
		}								\
		m = n;								\
		/* Make the bound visible to the verifier after codegen. */	\
		asm volatile("" : "+r"(m));					\
		if (m > (SIZE))							\
			m = (SIZE);						\
		if (bpf_probe_read_user(e->data, m, (void *)(c->src + c->done))) { \
			e->len = 0;						\
			e->lost += n;						\
			if (c->st)						\
				__sync_fetch_and_add(&c->st->unreadable_bytes, n); \
		}								\
		if (over && c->st) {						\
			__sync_fetch_and_add(&c->st->overflow_records, 1);	\
			__sync_fetch_and_add(&c->st->overflow_bytes, e->len);	\
		}								\
		/* What waits, this record included, wakes the collector. */	\
		avail += sizeof(*e) + (SIZE);					\
		bpf_ringbuf_submit(e, avail >= wake ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP); \
	} while (0)

/*
 * An iovec call's next segment, read when the last one is used up (one per
 * loop turn, so empty segments cost turns, not code). False when there is
 * none left to read: the rest of the call is counted unreadable (its
 * positions were claimed: the collector sees a gap).
 */
static __always_inline bool next_segment(struct emit_ctx *c)
{
	struct { __u64 base; __u32 len; } seg;

	if (c->seg >= TLSTAP_MAX_IOV ||
	    bpf_probe_read_user(&seg, 12, (void *)(c->iov + (__u64)c->seg * TLSTAP_IOV_STRIDE))) {
		if (c->st)
			__sync_fetch_and_add(&c->st->unreadable_bytes, c->total - c->done);
		c->done = c->total;
		return false;
	}
	c->seg++;
	c->seg_left = seg.len;
	c->src = seg.base - c->done;
	return true;
}

static long emit_chunk(__u32 i, struct emit_ctx *c)
{
	__u32 n = c->total - c->done;
	__u64 m;
	bool last;

	if (c->done >= c->total)
		return 1;
	if (c->iov && c->seg_left == 0)
		return next_segment(c) ? 0 : 1;
	if (c->iov && n > c->seg_left)
		n = c->seg_left;
	if (n > TLSTAP_CHUNK_MAX)
		n = TLSTAP_CHUNK_MAX;
	last = c->done + n >= c->total;
	if (n <= 256)
		EMIT_SIZED(256);
	else if (n <= 2048)
		EMIT_SIZED(2048);
	else if (n <= 8192)
		EMIT_SIZED(8192);
	else
		EMIT_SIZED(TLSTAP_CHUNK_MAX);
	c->done += n;
	c->seg_left -= c->iov ? n : 0;
	return 0;
full:
	/* Positions were claimed already: the collector sees this range as a gap. */
	if (c->st) {
		__sync_fetch_and_add(&c->st->ring_full_events, 1);
		__sync_fetch_and_add(&c->st->ring_full_bytes, n);
	}
	c->done += n;
	c->seg_left -= c->iov ? n : 0;
	return 0;
}

/*
 * Emits the moved bytes of c->src whose header c->hdr is filled in: what
 * snaplen leaves out and what lies beyond 2 GiB are counted, the rest goes
 * to this CPU's ring in chunks.
 */
static __always_inline void emit_call(struct emit_ctx *c, __u64 moved)
{
	__u64 cap = (__u64)TLSTAP_CHUNK_MAX * TLSTAP_MAX_CHUNKS, want = moved;
	__u32 nchunks;

	if (snaplen && want > snaplen) {
		c->skipped = want - snaplen;
		want = snaplen;
		if (c->st)
			__sync_fetch_and_add(&c->st->snap_bytes, c->skipped);
	}
	if (want > cap) {
		c->lost_tail = want - cap;
		want = cap;
		if (c->st)
			__sync_fetch_and_add(&c->st->oversize_bytes, c->lost_tail);
	}
	c->total = (__u32)want;
	c->ring = cpu_ring(false);
	c->over = cpu_ring(true);
	if (!c->ring) {
		if (c->st) {
			__sync_fetch_and_add(&c->st->ring_full_events, 1);
			__sync_fetch_and_add(&c->st->ring_full_bytes, want);
		}
		return;
	}
	nchunks = (c->total + TLSTAP_CHUNK_MAX - 1) / TLSTAP_CHUNK_MAX;
	/* Each segment costs a turn to read and may end a chunk early. */
	if (c->iov)
		nchunks += 2 * TLSTAP_MAX_IOV;
	bpf_loop(nchunks, emit_chunk, c, 0);
}

#endif
