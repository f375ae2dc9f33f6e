/* One or two BPF ring buffers per CPU behind an array of maps, read fairly round by round. */
#ifndef TLSTAP_RINGS_H
#define TLSTAP_RINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <bpf/libbpf.h>

/*
 * The record callback returns RINGS_BUDGET_SPENT (after handling the record)
 * to stop reading that ring for this round, so one busy CPU's ring cannot
 * keep the consumer from the others.
 */
#define RINGS_BUDGET_SPENT	(-EAGAIN)

/* Rounds whose producer positions are remembered for the reordering protocol. */
#define RINGS_HISTORY	1024

/*
 * With a fast ring per CPU (TLSTAP_FAST_RING_MAX_KIB), ring i < ncpus is CPU
 * i's fast ring and ring ncpus + i its -B ring; without, ring i is CPU i's
 * only ring. The BPF side finds them at the same indexes.
 */
struct rings {
	int *fds;		/* [nrings] */
	struct ring_buffer **rb;	/* a reader per ring */
	/* Each ring's positions, mapped read-only from the kernel's pages. */
	const volatile __u64 **prod_pos, **cons_pos;
	void **pages;		/* 2 mappings per ring, for munmap */
	__u64 *hist;		/* [RINGS_HISTORY][nrings] producer positions */
	__u64 hist_round[RINGS_HISTORY];
	__u64 last_safe;	/* the latest snapshot found passed */
	int ncpus;
	int nrings;		/* ncpus, or 2 * ncpus with fast rings */
	size_t fast_bytes;	/* 0: no fast rings */
	size_t over_bytes;	/* the -B rings */
	int template_fd;
	int epfd;		/* readable when any ring asks to be read */
	int budget;		/* records per ring per round */
	int budget_left;	/* of the ring being read: the callback counts it down */
	size_t byte_budget;	/* bytes per ring per round (0: no limit) */
	size_t bytes_left;	/* of the ring being read: the callback counts it down */
	/* A -B ring is read up to where it was before its CPU's fast ring
	 * was (0: to its end); stop_cons is its consumer position. */
	__u64 stop_at;
	const volatile __u64 *stop_cons;
};

/* The fast ring that goes with -B rings of ring_bytes: 0 for none. */
size_t rings_fast_bytes(size_t ring_bytes);
/*
 * Before load: size the outer array for -B rings of ring_bytes (and fast
 * rings, rings_fast_bytes()) and give it its inner template.
 */
int rings_prepare(struct rings *r, struct bpf_map *outer, size_t ring_bytes);
/* After load: create the rings, put them in the outer array. */
int rings_create(struct rings *r, struct bpf_map *outer, ring_buffer_sample_fn fn, void *ctx);
/*
 * For the callback, after it handled a record of size bytes: true when that
 * record ends where the ring being read is to stop this round (the callback
 * then returns RINGS_BUDGET_SPENT).
 */
bool rings_at_stop(const struct rings *r, size_t size);
/*
 * Waits until a ring wakes us or timeout_ms passes: 0, or -errno (-EINTR).
 * Records below a ring's wakeup threshold wake nobody: what a round left
 * unread is read without waiting, and a trickle waits for the timeout.
 */
int rings_wait(struct rings *r, int timeout_ms);
/*
 * Starts a round: remembers every ring's producer position, then reads
 * every ring once, each until it is empty or the callback says its budget
 * is spent. A CPU's -B ring is read after its fast ring, only once that
 * was read to its end, and only what it held before: its records are newer
 * than the fast ring's (emit.bpf.h), but once it is read empty the fast
 * ring takes new ones again. Returns 1 when every ring was read to its
 * end, 0 if not, or -errno.
 */
int rings_read_round(struct rings *r, __u64 round);
/*
 * The latest round whose producer positions every ring has been read past:
 * a record read in an earlier round was committed before that snapshot, and
 * so was everything committed before it, on any CPU. 0 when none.
 */
__u64 rings_safe_round(struct rings *r);
void rings_free(struct rings *r);

#endif
