/* Intrusive lists: doubly linked by recency or age (O(1) push and unlink), and unordered chains. */
#ifndef TLSTAP_LRU_H
#define TLSTAP_LRU_H

#include <stddef.h>

#define lru_entry(link, type, member) \
	((type *)((char *)(link) - offsetof(type, member)))

struct lru_link {
	struct lru_link *prev, *next;	/* prev: toward the head */
};

struct lru {
	struct lru_link *head, *tail;
};

static inline void lru_unlink(struct lru *l, struct lru_link *x)
{
	*(x->prev ? &x->prev->next : &l->head) = x->next;
	*(x->next ? &x->next->prev : &l->tail) = x->prev;
	x->prev = x->next = NULL;
}

static inline void lru_push_front(struct lru *l, struct lru_link *x)
{
	x->prev = NULL;
	x->next = l->head;
	*(l->head ? &l->head->prev : &l->tail) = x;
	l->head = x;
}

/* A chain whose members can leave it without knowing its head. */
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

#endif
