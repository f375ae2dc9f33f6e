/* One memory budget for the collector's buffers (reordering, HTTP decoding) and allocations counted against it. */
#ifndef TLSTAP_MEM_BUDGET_H
#define TLSTAP_MEM_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * What an allocation of n bytes costs: the bytes, the size header
 * mem_alloc keeps in front of them, and an estimate of the allocator's
 * own header and rounding, so that the sum follows the heap closely.
 */
#define MEM_HDR		16
#define MEM_COST(n)	((size_t)(n) + MEM_HDR + 16)

/*
 * Two kinds of memory share the budget. Raw data on its way to the
 * outputs (chunks waiting for earlier bytes of their stream, or for their
 * turn to be decoded) must be kept: it is charged with mem_budget_force,
 * which never refuses. Decoder state (HTTP header blocks, lines, HPACK
 * tables, bytes held until a connection is known to be HTTP) can be given
 * up: it is charged with mem_budget_try, which refuses past the limit.
 * Whenever the limit would be passed, reclaim is asked first to give
 * decoder memory back (it stops decoding some connections), down to three
 * quarters of the limit so that it is not asked again at once.
 */
struct mem_budget {
	size_t limit;		/* bytes; 0: no limit */
	size_t used, peak;
	void (*reclaim)(void *ctx, size_t want);	/* frees at least want bytes if it can */
	void *reclaim_ctx;
	bool reclaiming;	/* reclaim runs: charges made now cannot call it again */
	uint64_t refused;	/* mem_budget_try calls refused */
};

void mem_budget_init(struct mem_budget *b, size_t limit);
void mem_budget_set_reclaim(struct mem_budget *b, void (*reclaim)(void *ctx, size_t want), void *ctx);
/* Charges n bytes if they fit, after reclaiming if they do not. Returns 0 or -ENOBUFS (nothing charged). */
int mem_budget_try(struct mem_budget *b, size_t n);
/* Charges n bytes whatever the limit, reclaiming first if it would be passed. */
void mem_budget_force(struct mem_budget *b, size_t n);
void mem_budget_release(struct mem_budget *b, size_t n);
bool mem_budget_over(const struct mem_budget *b);
/* Past the mark reclaiming aims for (three quarters of the limit). */
bool mem_budget_pressed(const struct mem_budget *b);

/*
 * The allocations of one owner (one connection's HTTP decoder), counted in
 * used and charged with mem_budget_try. When the budget refuses one,
 * refused() is called (the owner stops decoding) and the allocation
 * returns NULL like an out-of-memory malloc.
 */
struct mem_account {
	struct mem_budget *budget;	/* NULL: counted only */
	size_t used;
	void (*refused)(struct mem_account *a);
};

/* Each may take a NULL account (nothing counted); blocks must be freed with mem_free. */
void *mem_alloc(struct mem_account *a, size_t n);
void *mem_calloc(struct mem_account *a, size_t nmemb, size_t size);
/* realloc: NULL p allocates; n 0 frees and returns NULL. On failure p is left as it was. */
void *mem_realloc(struct mem_account *a, void *p, size_t n);
void mem_free(struct mem_account *a, void *p);
/* Counts n bytes held outside mem_alloc (a structure owning the account). Returns 0 or -ENOBUFS. */
int mem_account_charge(struct mem_account *a, size_t n);
void mem_account_release(struct mem_account *a, size_t n);

#endif
