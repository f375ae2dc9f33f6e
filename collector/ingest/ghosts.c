/* Connections the flow table has no flow for but still knows about, bounded and oldest-first forgotten. */
#include <stdlib.h>
#include <string.h>
#include "ghosts.h"

static size_t bucket(__u64 conn_id)
{
	return (size_t)((conn_id * 0x9E3779B97F4A7C15ull) >> 52) % GHOSTS_BUCKETS;
}

struct ghost *ghosts_find(const struct ghosts *g, __u64 conn_id)
{
	struct ghost *x;

	for (x = g->buckets[bucket(conn_id)]; x; x = x->hnext)
		if (x->meta.conn_id == conn_id)
			return x;
	return NULL;
}

void ghosts_remove(struct ghosts *g, struct ghost *x)
{
	struct ghost **pp = &g->buckets[bucket(x->meta.conn_id)];

	while (*pp && *pp != x)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = x->hnext;
	lru_unlink(&g->age, &x->age);
	x->hnext = NULL;
	g->n--;
}

struct ghost *ghosts_add(struct ghosts *g, const struct tlstap_data_event *meta,
			 struct ghost **forgotten)
{
	struct ghost *x;
	size_t b;

	*forgotten = NULL;
	x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	if (g->n >= GHOSTS_MAX && g->age.tail) {
		*forgotten = ghosts_oldest(g);
		ghosts_remove(g, *forgotten);
	}
	memcpy(&x->meta, meta, sizeof(x->meta));
	x->meta.len = 0;
	b = bucket(meta->conn_id);
	x->hnext = g->buckets[b];
	g->buckets[b] = x;
	lru_push_front(&g->age, &x->age);
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
