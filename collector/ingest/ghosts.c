/* Connections the flow table has no flow for but still knows about, bounded and oldest-first forgotten. */
#include <stdlib.h>
#include <string.h>
#include "ghosts.h"

static size_t bucket(__u64 conn_id)
{
	return hash_bucket(conn_id, GHOSTS_BUCKET_BITS);
}

struct ghost *ghosts_find(const struct ghosts *g, __u64 conn_id)
{
	return chain_find(g->buckets[bucket(conn_id)], struct ghost, hlink, meta.conn_id, conn_id);
}

void ghosts_remove(struct ghosts *g, struct ghost *x)
{
	chain_del(&x->hlink);
	dlist_unlink(&g->age, &x->age);
	g->n--;
}

struct ghost *ghosts_add(struct ghosts *g, const struct tlstap_data_event *meta,
			 struct ghost **forgotten)
{
	struct ghost *x;

	*forgotten = NULL;
	x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	if (g->n >= GHOSTS_MAX && g->age.last) {
		*forgotten = ghosts_oldest(g);
		ghosts_remove(g, *forgotten);
	}
	memcpy(&x->meta, meta, sizeof(x->meta));
	x->meta.len = 0;
	chain_add(&g->buckets[bucket(meta->conn_id)], &x->hlink);
	dlist_push_front(&g->age, &x->age);
	g->n++;
	return x;
}

void ghosts_free(struct ghosts *g)
{
	struct ghost *x;

	while ((x = ghosts_oldest(g))) {
		ghosts_remove(g, x);
		free(x);
	}
}
