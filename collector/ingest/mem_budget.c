/* One memory budget for the collector's buffers (reordering, HTTP decoding) and allocations counted against it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "mem_budget.h"

void mem_budget_init(struct mem_budget *b, size_t limit)
{
	memset(b, 0, sizeof(*b));
	b->limit = limit;
}

void mem_budget_set_reclaim(struct mem_budget *b, void (*reclaim)(void *ctx, size_t want), void *ctx)
{
	b->reclaim = reclaim;
	b->reclaim_ctx = ctx;
}

/* Asks for room so that used + n is three quarters of the limit at most. */
static void reclaim(struct mem_budget *b, size_t n)
{
	size_t low = b->limit - b->limit / 4, want;

	if (!b->reclaim || b->reclaiming)
		return;
	want = b->used + n > low ? b->used + n - low : 0;
	if (!want)
		return;
	b->reclaiming = true;
	b->reclaim(b->reclaim_ctx, want);
	b->reclaiming = false;
}

static void charge(struct mem_budget *b, size_t n)
{
	b->used += n;
	if (b->used > b->peak)
		b->peak = b->used;
}

static bool fits(const struct mem_budget *b, size_t n)
{
	return !b->limit || (n <= b->limit && b->used <= b->limit - n);
}

int mem_budget_try(struct mem_budget *b, size_t n)
{
	if (!fits(b, n))
		reclaim(b, n);
	if (!fits(b, n)) {
		b->refused++;
		return -ENOBUFS;
	}
	charge(b, n);
	return 0;
}

void mem_budget_force(struct mem_budget *b, size_t n)
{
	if (!fits(b, n))
		reclaim(b, n);
	charge(b, n);
}

void mem_budget_release(struct mem_budget *b, size_t n)
{
	b->used = n < b->used ? b->used - n : 0;
}

bool mem_budget_pressed(const struct mem_budget *b)
{
	return b->limit && b->used > b->limit - b->limit / 4;
}

bool mem_budget_over(const struct mem_budget *b)
{
	return b->limit && b->used > b->limit;
}

int mem_account_charge(struct mem_account *a, size_t n)
{
	if (!a)
		return 0;
	if (a->budget && mem_budget_try(a->budget, n)) {
		if (a->refused)
			a->refused(a);
		return -ENOBUFS;
	}
	a->used += n;
	return 0;
}

void mem_account_release(struct mem_account *a, size_t n)
{
	if (!a)
		return;
	a->used = n < a->used ? a->used - n : 0;
	if (a->budget)
		mem_budget_release(a->budget, n);
}

/* The size header in front of every block. */
static size_t *header(void *p)
{
	return (size_t *)((char *)p - MEM_HDR);
}

void *mem_alloc(struct mem_account *a, size_t n)
{
	size_t *h;

	if (n > SIZE_MAX - MEM_COST(0) || mem_account_charge(a, MEM_COST(n)))
		return NULL;
	h = malloc(n + MEM_HDR);
	if (!h) {
		mem_account_release(a, MEM_COST(n));
		return NULL;
	}
	*h = n;
	return (char *)h + MEM_HDR;
}

void *mem_calloc(struct mem_account *a, size_t nmemb, size_t size)
{
	void *p;

	if (size && nmemb > SIZE_MAX / size)
		return NULL;
	p = mem_alloc(a, nmemb * size);
	if (p)
		memset(p, 0, nmemb * size);
	return p;
}

void *mem_realloc(struct mem_account *a, void *p, size_t n)
{
	size_t old, *h;

	if (!p)
		return mem_alloc(a, n);
	if (!n) {
		mem_free(a, p);
		return NULL;
	}
	if (n > SIZE_MAX - MEM_COST(0))
		return NULL;
	old = *header(p);
	if (n > old && mem_account_charge(a, n - old))
		return NULL;
	h = realloc(header(p), n + MEM_HDR);
	if (!h) {
		if (n > old)
			mem_account_release(a, n - old);
		return NULL;
	}
	if (n < old)
		mem_account_release(a, old - n);
	*h = n;
	return (char *)h + MEM_HDR;
}

void mem_free(struct mem_account *a, void *p)
{
	if (!p)
		return;
	mem_account_release(a, MEM_COST(*header(p)));
	free(header(p));
}
