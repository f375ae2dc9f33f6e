/* One BPF ring buffer per CPU behind an array of maps, read fairly round by round. */
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

struct rings {
	int *fds;		/* one ring per possible CPU */
	struct ring_buffer **rb;	/* a reader per ring */
	__u64 *drained;		/* per ring: last round it was read to its end */
	int ncpus;
	int template_fd;
	int epfd;		/* readable when any ring asks to be read */
	int budget;		/* records per ring per round */
	int budget_left;	/* of the ring being read: the callback counts it down */
};

/* Before load: size the outer array and give it its inner template. */
int rings_prepare(struct rings *r, struct bpf_map *outer, size_t ring_bytes);
/* After load: create the rings, put them in the outer array. */
int rings_create(struct rings *r, struct bpf_map *outer, size_t ring_bytes,
		 ring_buffer_sample_fn fn, void *ctx);
/* Waits until a ring wakes us or timeout_ms passes: 0, or -errno (-EINTR). */
int rings_wait(struct rings *r, int timeout_ms);
/*
 * Reads every ring once, each until it is empty or the callback says its
 * budget is spent; marks the rings read to their end with round. Returns
 * the lowest round every ring was read to its end in, or -errno.
 */
long long rings_read_round(struct rings *r, __u64 round);
void rings_free(struct rings *r);

#endif
