/* Per-CPU ring buffers: producers on different CPUs never share a ring. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/mman.h>
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
	r->epfd = -1;
	r->budget = 512;
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
	struct epoll_event ev = { .events = EPOLLIN };
	int cpu, fd;

	long page = sysconf(_SC_PAGESIZE);
	void *m;

	r->fds = calloc((size_t)r->ncpus, sizeof(*r->fds));
	r->rb = calloc((size_t)r->ncpus, sizeof(*r->rb));
	r->prod_pos = calloc((size_t)r->ncpus, sizeof(*r->prod_pos));
	r->cons_pos = calloc((size_t)r->ncpus, sizeof(*r->cons_pos));
	r->pages = calloc((size_t)r->ncpus * 2, sizeof(*r->pages));
	r->hist = calloc((size_t)r->ncpus * RINGS_HISTORY, sizeof(*r->hist));
	if (!r->fds || !r->rb || !r->prod_pos || !r->cons_pos || !r->pages || !r->hist)
		return -ENOMEM;
	for (cpu = 0; cpu < r->ncpus; cpu++)
		r->fds[cpu] = -1;
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0)
		return -errno;
	for (cpu = 0; cpu < r->ncpus; cpu++) {
		fd = make_ring(ring_bytes);
		if (fd < 0)
			return fd;
		r->fds[cpu] = fd;
		if (bpf_map_update_elem(bpf_map__fd(outer), &cpu, &fd, BPF_ANY))
			return -errno;
		/* One reader per ring: each can be stopped on its own. */
		r->rb[cpu] = ring_buffer__new(fd, fn, ctx, NULL);
		if (!r->rb[cpu])
			return -errno;
		/* The consumer page comes first, then the producer page. */
		m = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			return -errno;
		r->pages[2 * cpu] = m;
		r->cons_pos[cpu] = m;
		m = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, fd, page);
		if (m == MAP_FAILED)
			return -errno;
		r->pages[2 * cpu + 1] = m;
		r->prod_pos[cpu] = m;
		ev.data.u32 = (__u32)cpu;
		if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev))
			return -errno;
	}
	return 0;
}

int rings_wait(struct rings *r, int timeout_ms)
{
	struct epoll_event evs[64];

	if (epoll_wait(r->epfd, evs, 64, timeout_ms) < 0)
		return -errno;
	return 0;
}

int rings_read_round(struct rings *r, __u64 round)
{
	__u64 *snap = &r->hist[(round % RINGS_HISTORY) * (size_t)r->ncpus];
	size_t slot = round % RINGS_HISTORY;
	int cpu, err, all = 1;

	/*
	 * Never overwrite a snapshot the reader has not passed yet: when far
	 * behind, rounds go without one and wait for a later (more
	 * conservative, still correct) snapshot to be passed.
	 */
	if (!r->hist_round[slot] || r->hist_round[slot] <= r->last_safe) {
		for (cpu = 0; cpu < r->ncpus; cpu++)
			snap[cpu] = __atomic_load_n(r->prod_pos[cpu], __ATOMIC_ACQUIRE);
		r->hist_round[slot] = round;
	}
	for (cpu = 0; cpu < r->ncpus; cpu++) {
		r->budget_left = r->budget;
		r->bytes_left = r->byte_budget;
		err = ring_buffer__consume(r->rb[cpu]);
		if (err == RINGS_BUDGET_SPENT)
			all = 0;
		else if (err < 0)
			return err;
	}
	return all;
}

__u64 rings_safe_round(struct rings *r)
{
	const __u64 *snap;
	__u64 best = r->last_safe;
	int i, cpu;

	for (i = 0; i < RINGS_HISTORY; i++) {
		if (r->hist_round[i] <= best)
			continue;
		snap = &r->hist[(size_t)i * (size_t)r->ncpus];
		for (cpu = 0; cpu < r->ncpus; cpu++)
			if (__atomic_load_n(r->cons_pos[cpu], __ATOMIC_ACQUIRE) < snap[cpu])
				break;
		if (cpu == r->ncpus)
			best = r->hist_round[i];
	}
	r->last_safe = best;
	return best;
}

void rings_free(struct rings *r)
{
	int cpu;

	if (r->rb)
		for (cpu = 0; cpu < r->ncpus; cpu++)
			ring_buffer__free(r->rb[cpu]);
	if (r->fds)
		for (cpu = 0; cpu < r->ncpus; cpu++)
			if (r->fds[cpu] >= 0)
				close(r->fds[cpu]);
	if (r->template_fd >= 0)
		close(r->template_fd);
	if (r->epfd >= 0)
		close(r->epfd);
	if (r->pages)
		for (cpu = 0; cpu < 2 * r->ncpus; cpu++)
			if (r->pages[cpu])
				munmap(r->pages[cpu], (size_t)sysconf(_SC_PAGESIZE));
	free(r->fds);
	free(r->rb);
	free(r->prod_pos);
	free(r->cons_pos);
	free(r->pages);
	free(r->hist);
	memset(r, 0, sizeof(*r));
	r->template_fd = -1;
	r->epfd = -1;
}
