/* Connections the flow table has no flow for but still knows about, bounded and oldest-first forgotten. */
#ifndef TLSTAP_GHOSTS_H
#define TLSTAP_GHOSTS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "tlstap.h"
#include "dlist.h"

/* At most this many; then the oldest is forgotten (the caller accounts for it). */
#define GHOSTS_MAX	65536
#define GHOSTS_BUCKET_BITS	12

/*
 * A flow evicted from a full table (with the positions it had reached), or
 * a connection whose end positions the BPF side reported before any of its
 * records arrived.
 */
struct ghost {
	struct chain_link hlink;	/* in its bucket */
	struct dlist_node age;		/* prev: newer */
	struct tlstap_data_event meta;	/* header of its latest event; len 0 */
	__u64 next[2];			/* per direction: delivered up to here */
	__u64 end[2];			/* where the BPF side says it got to */
	bool evicted;
};

struct ghosts {
	struct chain_link *buckets[1 << GHOSTS_BUCKET_BITS];
	struct dlist age;			/* first: the newest */
	size_t n;
};

/* The oldest ghost, and the one after g by age (NULL at the end). */
static inline struct ghost *ghosts_oldest(const struct ghosts *g)
{
	return g->age.last ? container_of(g->age.last, struct ghost, age) : NULL;
}

static inline struct ghost *ghosts_newer(const struct ghost *x)
{
	return x->age.prev ? container_of(x->age.prev, struct ghost, age) : NULL;
}

struct ghost *ghosts_find(const struct ghosts *g, __u64 conn_id);
/*
 * A new ghost for meta's connection (zeroed positions), or NULL without
 * memory. When the set is full, the oldest is unlinked first and handed back
 * in *forgotten for the caller to account for and free.
 */
struct ghost *ghosts_add(struct ghosts *g, const struct tlstap_data_event *meta,
			 struct ghost **forgotten);
/* Unlinks x; the caller frees it. */
void ghosts_remove(struct ghosts *g, struct ghost *x);
void ghosts_free(struct ghosts *g);

#endif
