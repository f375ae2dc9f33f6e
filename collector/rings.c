/* Per-CPU ring buffers: producers on different CPUs never share a ring. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "log.h"
#include "rings.h"

static int make_ring(size_t ring_bytes)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "tlstap_ring", 0, 0, (__u32)ring_bytes, NULL);

	return fd < 0 ? -errno : fd;
}

int rings_prepare(struct rings *r, struct bpf_map *outer, size_t ring_bytes)
{
	int err, ncpus = libbpf_num_possible_cpus();

	memset(r, 0, sizeof(*r));
	r->template_fd = -1;
	if (ncpus <= 0)
		return ncpus ? ncpus : -EINVAL;
	r->ncpus = ncpus;
	err = bpf_map__set_max_entries(outer, (__u32)ncpus);
	if (err)
		return err;
	r->template_fd = make_ring(ring_bytes);
	if (r->template_fd < 0)
		return r->template_fd;
	return bpf_map__set_inner_map_fd(outer, r->template_fd);
}

int rings_create(struct rings *r, struct bpf_map *outer, size_t ring_bytes,
		 ring_buffer_sample_fn fn, void *ctx)
{
	int cpu, fd, err = 0;

	r->fds = calloc((size_t)r->ncpus, sizeof(*r->fds));
	if (!r->fds)
		return -ENOMEM;
	for (cpu = 0; cpu < r->ncpus; cpu++)
		r->fds[cpu] = -1;
	for (cpu = 0; cpu < r->ncpus; cpu++) {
		fd = make_ring(ring_bytes);
		if (fd < 0)
			return fd;
		r->fds[cpu] = fd;
		if (bpf_map_update_elem(bpf_map__fd(outer), &cpu, &fd, BPF_ANY))
			return -errno;
		if (!r->rb) {
			r->rb = ring_buffer__new(fd, fn, ctx, NULL);
			if (!r->rb)
				return -errno;
		} else {
			err = ring_buffer__add(r->rb, fd, fn, ctx);
			if (err)
				return err;
		}
	}
	return 0;
}

void rings_free(struct rings *r)
{
	int cpu;

	ring_buffer__free(r->rb);
	if (r->fds)
		for (cpu = 0; cpu < r->ncpus; cpu++)
			if (r->fds[cpu] >= 0)
				close(r->fds[cpu]);
	if (r->template_fd >= 0)
		close(r->template_fd);
	free(r->fds);
	memset(r, 0, sizeof(*r));
	r->template_fd = -1;
}
