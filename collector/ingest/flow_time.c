/* Both directions of every flow in time order, for the consumer that asks (the HTTP decoder). */
#include <stdlib.h>
#include <string.h>
#include "flows_int.h"

/*
 * Chunks above CACHE_MIN bytes are allocated in size classes an eighth of a
 * power of two apart, and kept for reuse when freed, up to CACHE_BYTES in
 * all (outside the budget: free memory). Why: glibc's malloc and free of
 * records of up to 16 KiB (its bins, coalescing) cost more than copying the
 * record into them. Smaller ones are fast in glibc's own thread cache.
 * Chunks are allocated and freed by the collector's thread alone.
 */
#define CACHE_MIN	1024u
#define CACHE_BYTES	(8u << 20)
#define CACHE_CLASSES	64u

static struct flow_chunk *cache[CACHE_CLASSES];
static size_t cache_bytes;

/* The class of an allocation of n bytes (n > CACHE_MIN) and the bytes it holds;
 * CACHE_CLASSES (and n) for one too large for a class. */
static unsigned chunk_class(size_t n, size_t *size)
{
	unsigned k = 63u - (unsigned)__builtin_clzll((unsigned long long)n - 1);	/* 2^k < n <= 2^(k+1) */
	size_t step = (size_t)1 << (k - 3);
	unsigned c;

	*size = (n + step - 1) & ~(step - 1);
	c = (k - 10) * 8 + (unsigned)(*size / step) - 9;
	if (c < CACHE_CLASSES)
		return c;
	*size = n;
	return CACHE_CLASSES;
}

static struct flow_chunk *chunk_alloc(size_t len)
{
	size_t n = sizeof(struct flow_chunk) + len, size = n;
	unsigned cl = n > CACHE_MIN ? chunk_class(n, &size) : CACHE_CLASSES;
	struct flow_chunk *c;

	if (cl < CACHE_CLASSES && (c = cache[cl])) {
		cache[cl] = c->next;
		cache_bytes -= size;
	} else {
		c = malloc(size);
	}
	if (c)
		c->size = (__u32)size;
	return c;
}

void flow_chunk_free(struct flow_chunk *c, struct mem_budget *b)
{
	size_t size = 0;
	unsigned cl;

	if (!c)
		return;
	if (b)
		mem_budget_release(b, flow_chunk_cost(c));
	cl = c->size > CACHE_MIN ? chunk_class(c->size, &size) : CACHE_CLASSES;
	if (cl < CACHE_CLASSES && size == c->size && cache_bytes + size <= CACHE_BYTES) {
		c->next = cache[cl];
		cache[cl] = c;
		cache_bytes += size;
		return;
	}
	free(c);
}

void flow_chunk_cache_drain(void)
{
	struct flow_chunk *c;
	unsigned cl;

	for (cl = 0; cl < CACHE_CLASSES; cl++) {
		while ((c = cache[cl])) {
			cache[cl] = c->next;
			free(c);
		}
	}
	cache_bytes = 0;
}

/* A copy of what admit accepts: the ring record is gone once the round ends. */
void fl_time_admit(struct flow_table *ft, struct flow *f, int dir,
		   const struct tlstap_data_event *ev, __u64 gap)
{
	size_t len = ev ? ev->len : 0;
	struct flow_chunk *c;
	unsigned want = ft->cb.admit ? ft->cb.admit(ft->ctx, f, dir, ev) : 1;

	if (!want)
		return;
	c = chunk_alloc(len);
	if (!c)
		return;
	c->next = NULL;
	c->stamp = ft->stamp;
	c->seq = ft->timed_seq++;
	c->gap = ev ? 0 : gap ? gap : 1;
	c->want = want;
	c->flow = f;
	if (ev) {
		memcpy(&c->ev, ev, sizeof(*ev) + len);
	} else {
		/* A gap stands in time where the stream's last bytes did. */
		memcpy(&c->ev, &f->meta, sizeof(c->ev));
		c->ev.dir = (__u8)dir;
		c->ev.ts_ns = f->data_ts;
		c->ev.len = 0;
	}
	/* Raw data on its way: kept whatever the budget says, but decoders make room for it. */
	if (ft->budget)
		mem_budget_force(ft->budget, flow_chunk_cost(c));
	if (!ft->timed_tail)
		ft->timed_tail = &ft->timed_head;
	*ft->timed_tail = c;
	ft->timed_tail = &c->next;
	f->timed++;
}

static int by_time(const void *a, const void *b)
{
	const struct flow_chunk *x = *(const struct flow_chunk *const *)a;
	const struct flow_chunk *y = *(const struct flow_chunk *const *)b;

	if (x->ev.ts_ns != y->ev.ts_ns)
		return x->ev.ts_ns < y->ev.ts_ns ? -1 : 1;
	/* Chunks of one call share their time: keep arrival order. */
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Takes the chunks stamped before `before` (only: that flow's, of any stamp) off the queue. */
static size_t take(struct flow_table *ft, __u64 before, const struct flow *only,
		   struct flow_chunk ***out)
{
	struct flow_chunk **v = NULL, **nv, *c, **pp;
	size_t n = 0, cap = 0;

	for (pp = &ft->timed_head; (c = *pp);) {
		if (!only && c->stamp >= before)
			break;	/* stamps only grow along the queue */
		if (only && c->flow != only) {
			pp = &c->next;
			continue;
		}
		if (n == cap) {
			nv = realloc(v, (cap ? cap * 2 : 64) * sizeof(*v));
			if (nv) {
				v = nv;
				cap = cap ? cap * 2 : 64;
			} else if (!only) {
				break;	/* the rest waits for the next round */
			}
		}
		*pp = c->next;
		if (n < cap) {
			v[n++] = c;
		} else {
			/* Its flow ends now: with no room to order it, it is dropped. */
			c->flow->timed--;
			flow_chunk_free(c, ft->budget);
		}
	}
	ft->timed_tail = &ft->timed_head;
	for (c = ft->timed_head; c; c = c->next)
		ft->timed_tail = &c->next;
	*out = v;
	return n;
}

static void hand_on(struct flow_table *ft, __u64 before, const struct flow *only)
{
	struct flow_chunk **v, *c;
	size_t n, i;

	n = take(ft, before, only, &v);
	if (n)
		qsort(v, n, sizeof(*v), by_time);
	for (i = 0; i < n; i++) {
		c = v[i];
		c->flow->timed--;
		c->next = NULL;
		if (!ft->cb.on_timed(ft->ctx, c->flow, c))
			flow_chunk_free(c, ft->budget);
	}
	free(v);
}

void fl_time_flush(struct flow_table *ft, struct flow *f)
{
	if (f->timed)
		hand_on(ft, 0, f);
}

void fl_time_settle(struct flow_table *ft, __u64 before)
{
	if (!ft->timed_head)
		return;
	/*
	 * With a backlog in the rings, the safe round lags until it is read
	 * through, and the queue would hold all of it. Short of memory, what
	 * waits goes now.
	 */
	if (before != UINT64_MAX && ft->budget && mem_budget_pressed(ft->budget)) {
		ft->st.early_settles++;
		before = UINT64_MAX;
	}
	hand_on(ft, before, NULL);
}

void fl_time_free(struct flow_table *ft)
{
	struct flow_chunk *c;

	while ((c = ft->timed_head)) {
		ft->timed_head = c->next;
		flow_chunk_free(c, ft->budget);
	}
	ft->timed_tail = NULL;
	flow_chunk_cache_drain();
}
