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
#include "tlstap.h"

static int make_ring(size_t ring_bytes)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "tlstap_ring", 0, 0, (__u32)ring_bytes, NULL);

	return fd < 0 ? -errno : fd;
}

size_t rings_fast_bytes(size_t ring_bytes)
{
	size_t fast = ring_bytes / 4;

	if (fast > (size_t)TLSTAP_FAST_RING_MAX_KIB * 1024)
		fast = (size_t)TLSTAP_FAST_RING_MAX_KIB * 1024;
	return fast < (size_t)TLSTAP_MIN_RING_KIB * 1024 ? 0 : fast;
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
	r->over_bytes = ring_bytes;
	r->fast_bytes = rings_fast_bytes(ring_bytes);
	r->nrings = r->fast_bytes ? 2 * ncpus : ncpus;
	err = bpf_map__set_max_entries(outer, (__u32)r->nrings);
	if (err)
		return err;
	/* Ring buffers of any size fit where the template fits. */
	r->template_fd = make_ring(ring_bytes);
	if (r->template_fd < 0)
		return r->template_fd;
	return bpf_map__set_inner_map_fd(outer, r->template_fd);
}

int rings_create(struct rings *r, struct bpf_map *outer, ring_buffer_sample_fn fn, void *ctx)
{
	/*
	 * Edge-triggered: a ring wakes the reader when the BPF side says so
	 * (a control record, or data past the ring's wakeup threshold), not
	 * whenever it holds a byte. Level-triggered, a reader under steady
	 * load came back as soon as a record waited: a round, its syscalls
	 * and an output flush for every few records.
	 */
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
	long page = sysconf(_SC_PAGESIZE);
	size_t n = (size_t)r->nrings;
	int i, fd;
	void *m;

	r->fds = calloc(n, sizeof(*r->fds));
	r->rb = calloc(n, sizeof(*r->rb));
	r->prod_pos = calloc(n, sizeof(*r->prod_pos));
	r->cons_pos = calloc(n, sizeof(*r->cons_pos));
	r->pages = calloc(n * 2, sizeof(*r->pages));
	r->hist = calloc(n * RINGS_HISTORY, sizeof(*r->hist));
	if (!r->fds || !r->rb || !r->prod_pos || !r->cons_pos || !r->pages || !r->hist)
		return -ENOMEM;
	for (i = 0; i < r->nrings; i++)
		r->fds[i] = -1;
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0)
		return -errno;
	for (i = 0; i < r->nrings; i++) {
		fd = make_ring(r->fast_bytes && i < r->ncpus ? r->fast_bytes : r->over_bytes);
		if (fd < 0)
			return fd;
		r->fds[i] = fd;
		if (bpf_map_update_elem(bpf_map__fd(outer), &i, &fd, BPF_ANY))
			return -errno;
		/* One reader per ring: each can be stopped on its own. */
		r->rb[i] = ring_buffer__new(fd, fn, ctx, NULL);
		if (!r->rb[i])
			return -errno;
		/* The consumer page comes first, then the producer page. */
		m = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			return -errno;
		r->pages[2 * i] = m;
		r->cons_pos[i] = m;
		m = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, fd, page);
		if (m == MAP_FAILED)
			return -errno;
		r->pages[2 * i + 1] = m;
		r->prod_pos[i] = m;
		ev.data.u32 = (__u32)i;
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

/* One ring read with a fresh budget: ring_buffer__consume's result. */
static int consume(struct rings *r, int ring)
{
	r->budget_left = r->budget;
	r->bytes_left = r->byte_budget;
	return ring_buffer__consume(r->rb[ring]);
}

int rings_read_round(struct rings *r, __u64 round)
{
	__u64 *snap = &r->hist[(round % RINGS_HISTORY) * (size_t)r->nrings];
	size_t slot = round % RINGS_HISTORY;
	__u64 over_end = 0;
	int i, cpu, ring, err, all = 1;

	/*
	 * Never overwrite a snapshot the reader has not passed yet: when far
	 * behind, rounds go without one and wait for a later (more
	 * conservative, still correct) snapshot to be passed.
	 */
	if (!r->hist_round[slot] || r->hist_round[slot] <= r->last_safe) {
		for (i = 0; i < r->nrings; i++)
			snap[i] = __atomic_load_n(r->prod_pos[i], __ATOMIC_ACQUIRE);
		r->hist_round[slot] = round;
	}
	for (cpu = 0; cpu < r->ncpus; cpu++) {
		ring = cpu + r->ncpus;
		if (ring < r->nrings)
			over_end = __atomic_load_n(r->prod_pos[ring], __ATOMIC_ACQUIRE);
		err = consume(r, cpu);
		if (err == RINGS_BUDGET_SPENT) {
			all = 0;
			continue;
		} else if (err < 0) {
			return err;
		}
		if (ring >= r->nrings)
			continue;
		/* Empty then: what it holds now may be newer than what the
		 * fast ring took since; both wait for the next round. */
		if (over_end == __atomic_load_n(r->cons_pos[ring], __ATOMIC_ACQUIRE)) {
			if (over_end != __atomic_load_n(r->prod_pos[ring], __ATOMIC_ACQUIRE))
				all = 0;
			continue;
		}
		r->stop_at = over_end;
		r->stop_cons = r->cons_pos[ring];
		err = consume(r, ring);
		r->stop_at = 0;
		if (err == RINGS_BUDGET_SPENT)
			all = 0;
		else if (err < 0)
			return err;
	}
	return all;
}

bool rings_at_stop(const struct rings *r, size_t size)
{
	/* During the callback the consumer position is the record's start
	 * (libbpf stores it after each record); records are 8-byte aligned
	 * behind their 8-byte header. */
	return r->stop_at &&
	       *r->stop_cons + ((size + BPF_RINGBUF_HDR_SZ + 7) & ~(__u64)7) >= r->stop_at;
}

__u64 rings_safe_round(struct rings *r)
{
	const __u64 *snap;
	__u64 best = r->last_safe;
	int h, i;

	for (h = 0; h < RINGS_HISTORY; h++) {
		if (r->hist_round[h] <= best)
			continue;
		snap = &r->hist[(size_t)h * (size_t)r->nrings];
		for (i = 0; i < r->nrings; i++)
			if (__atomic_load_n(r->cons_pos[i], __ATOMIC_ACQUIRE) < snap[i])
				break;
		if (i == r->nrings)
			best = r->hist_round[h];
	}
	r->last_safe = best;
	return best;
}

void rings_free(struct rings *r)
{
	int i;

	if (r->rb)
		for (i = 0; i < r->nrings; i++)
			ring_buffer__free(r->rb[i]);
	if (r->fds)
		for (i = 0; i < r->nrings; i++)
			if (r->fds[i] >= 0)
				close(r->fds[i]);
	if (r->template_fd >= 0)
		close(r->template_fd);
	if (r->epfd >= 0)
		close(r->epfd);
	if (r->pages)
		for (i = 0; i < 2 * r->nrings; i++)
			if (r->pages[i])
				munmap(r->pages[i], (size_t)sysconf(_SC_PAGESIZE));
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
