/* One BPF ring buffer per CPU behind an array of maps, and one poller for all. */
#ifndef TLSTAP_RINGS_H
#define TLSTAP_RINGS_H

#include <stddef.h>
#include <bpf/libbpf.h>

struct rings {
	int *fds;		/* one ring per possible CPU */
	int ncpus;
	int template_fd;
	struct ring_buffer *rb;
};

/* Before load: size the outer array and give it its inner template. */
int rings_prepare(struct rings *r, struct bpf_map *outer, size_t ring_bytes);
/* After load: create the rings, put them in the outer array, poll them all. */
int rings_create(struct rings *r, struct bpf_map *outer, size_t ring_bytes,
		 ring_buffer_sample_fn fn, void *ctx);
void rings_free(struct rings *r);

#endif
