/* Every BPF link tlstap holds (libbpf links and uprobe_multi link fds), detached in one place. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "array_grow.h"
#include "links.h"
#include "quiet_thread.h"

int links_push(struct link_list *ll, struct bpf_link *link)
{
	if (ARRAY_MAKE_ROOM(ll->v, ll->n, ll->cap, 32))
		return -ENOMEM;
	ll->v[ll->n++] = link;
	return 0;
}

int links_push_fd(struct link_list *ll, int fd, bool ret)
{
	if (ARRAY_MAKE_ROOM(ll->fds, ll->nfds, ll->fcap, 32)) {
		close(fd);
		return -ENOMEM;
	}
	ll->fds[ll->nfds++] = (struct link_fd){ .fd = fd, .ret = ret };
	return 0;
}

#define CLOSERS 16

struct closer {
	pthread_t thread;
	const struct link_fd *v;
	size_t n, from;
	bool ret;
};

static void *close_some(void *arg)
{
	struct closer *c = arg;
	size_t i;

	for (i = c->from; i < c->n; i += CLOSERS)
		if (c->v[i].ret == c->ret)
			close(c->v[i].fd);
	return NULL;
}

/*
 * Closes the links of one kind (entry or return) side by side: each waits
 * for the kernel to see its probes gone, and those waits overlap. What no
 * thread could take is closed here.
 */
static void close_kind(const struct link_fd *v, size_t n, bool ret)
{
	struct closer c[CLOSERS];
	int t, started = 0;

	for (t = 0; t < CLOSERS && (size_t)t < n; t++) {
		c[t] = (struct closer){ .v = v, .n = n, .from = (size_t)t, .ret = ret };
		if (quiet_thread_create(&c[t].thread, close_some, &c[t]))
			break;
		started++;
	}
	for (t = 0; t < started; t++)
		pthread_join(c[t].thread, NULL);
	for (; (size_t)t < n && t < CLOSERS; t++) {
		c[t] = (struct closer){ .v = v, .n = n, .from = (size_t)t, .ret = ret };
		close_some(&c[t]);
	}
}

/* Destroys one link and drops it from the list. */
void links_remove(struct link_list *ll, struct bpf_link *link)
{
	size_t i;

	for (i = 0; i < ll->n; i++) {
		if (ll->v[i] != link)
			continue;
		bpf_link__destroy(link);
		memmove(&ll->v[i], &ll->v[i + 1], (ll->n - i - 1) * sizeof(*ll->v));
		ll->n--;
		return;
	}
}

void links_destroy(struct link_list *ll)
{
	size_t i;

	close_kind(ll->fds, ll->nfds, false);
	close_kind(ll->fds, ll->nfds, true);
	for (i = ll->n; i > 0; i--)
		bpf_link__destroy(ll->v[i - 1]);
	free(ll->fds);
	free(ll->v);
	memset(ll, 0, sizeof(*ll));
}
