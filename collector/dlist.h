/* Intrusive lists for the collector's tables: an order (doubly linked, counted) and hash chains. */
#ifndef TLSTAP_DLIST_H
#define TLSTAP_DLIST_H

#include <stddef.h>
#include <stdint.h>

/* The struct of type holding member m at p. */
#define container_of(p, type, m)	((type *)((char *)(p) - offsetof(type, m)))

struct dlist_node {
	struct dlist_node *prev, *next;
};

/* first is the oldest entry (or the one pushed to the front last). All zero: empty. */
struct dlist {
	struct dlist_node *first, *last;
	size_t n;
};

/* Links e in between prev and next, neighbours in l; NULL for an end. */
static inline void dlist_insert(struct dlist *l, struct dlist_node *prev, struct dlist_node *e,
				struct dlist_node *next)
{
	e->prev = prev;
	e->next = next;
	*(prev ? &prev->next : &l->first) = e;
	*(next ? &next->prev : &l->last) = e;
	l->n++;
}

static inline void dlist_append(struct dlist *l, struct dlist_node *e)
{
	dlist_insert(l, l->last, e, NULL);
}

static inline void dlist_push_front(struct dlist *l, struct dlist_node *e)
{
	dlist_insert(l, NULL, e, l->first);
}

static inline void dlist_unlink(struct dlist *l, struct dlist_node *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		l->first = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		l->last = e->prev;
	e->prev = e->next = NULL;
	l->n--;
}

/* An entry of a hash bucket's chain; it can leave the chain without its head. */
struct chain_link {
	struct chain_link *next, **pprev;	/* pprev NULL: on no chain */
};

static inline void chain_add(struct chain_link **head, struct chain_link *x)
{
	x->next = *head;
	if (*head)
		(*head)->pprev = &x->next;
	x->pprev = head;
	*head = x;
}

/* Unlinks x from its chain, if it is on one. */
static inline void chain_del(struct chain_link *x)
{
	if (!x->pprev)
		return;
	*x->pprev = x->next;
	if (x->next)
		x->next->pprev = x->pprev;
	x->next = NULL;
	x->pprev = NULL;
}

/* The first entry (of type, linked by member) on the chain at head whose field is value, or NULL. */
#define chain_find(head, type, member, field, value) ({					\
	struct chain_link *l_ = (head);							\
	type *found_ = NULL;								\
											\
	for (; l_ && !found_; l_ = l_->next)						\
		if (container_of(l_, type, member)->field == (value))			\
			found_ = container_of(l_, type, member);			\
	found_;										\
})

/*
 * The bucket of key among 1 << bits (1..63): the top bits of key times
 * 2^64 / golden ratio, so that keys in sequence spread over all buckets.
 */
static inline size_t hash_bucket(uint64_t key, unsigned bits)
{
	return (size_t)((key * 0x9E3779B97F4A7C15ull) >> (64 - bits));
}

#endif
