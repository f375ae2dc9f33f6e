/* Uprobe attachment with a BPF cookie per probe point (struct tlstap_cookie). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/types.h>
#include "tlstap.h"
#include "array_grow.h"
#include "attach.h"
#include "log.h"
#include "probe_table.h"
#include "uprobe_multi.h"

int links_push(struct link_list *ll, struct bpf_link *link)
{
	if (ARRAY_MAKE_ROOM(ll->v, ll->n, ll->cap, 32))
		return -ENOMEM;
	ll->v[ll->n++] = link;
	return 0;
}

/* Takes the link fd fd (closed on failure); ret: its probes are return probes. */
static int links_push_fd(struct link_list *ll, int fd, bool ret)
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
	sigset_t all, old;
	int t, started = 0;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (t = 0; t < CLOSERS && (size_t)t < n; t++) {
		c[t] = (struct closer){ .v = v, .n = n, .from = (size_t)t, .ret = ret };
		if (pthread_create(&c[t].thread, NULL, close_some, &c[t]))
			break;
		started++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
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

/* Newest first: entry probes go before the return probes they pair with,
 * and the uprobes (the fds) before the tracepoints attached ahead of them. */
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

static int attach_one(struct link_list *ll, struct bpf_program *prog, const char *path,
		      __u64 offset, __u64 cookie, pid_t pid, bool retprobe)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .bpf_cookie = cookie, .retprobe = retprobe);
	struct bpf_link *link;
	int err;

	link = bpf_program__attach_uprobe_opts(prog, pid, path, offset, &opts);
	if (!link)
		return -errno;
	err = links_push(ll, link);
	if (err)
		bpf_link__destroy(link);
	return err;
}

/* One probe point of one target, for one pid (-1: all). */
struct point {
	const struct target *t;
	const struct tls_func *pf;
	__u64 offset, cookie;
	pid_t pid;
	bool ret;		/* its return probe is attached */
	bool entry;		/* and its entry probe */
	struct bpf_link *ret_link;	/* that probe's own link, if it has one */
};

static void warn_point(const struct point *pt, int err)
{
	pr_warn("cannot probe %s in %s: %s\n", pt->pf->name, pt->t->path, strerror(-err));
}

/* Attaches prog at pt, by the open file examined, never by a path that can change. */
static int attach_point(struct link_list *ll, struct bpf_program *prog, const struct point *pt,
			bool retprobe)
{
	int err = attach_one(ll, prog, pt->t->attach_path, pt->offset, pt->cookie, pt->pid, retprobe);

	if (err)
		warn_point(pt, err);
	return err;
}

/* The end of the group of points from k on that share their target and pid. */
static size_t group_end(const struct point *pts, size_t k, size_t n)
{
	size_t e = k + 1;

	while (e < n && pts[e].t == pts[k].t && pts[e].pid == pts[k].pid)
		e++;
	return e;
}

/*
 * One uprobe_multi link for the points k..e-1 (only those with a return
 * probe, for entries): 1 attached, 0 nothing to attach, or a negative errno.
 */
static int attach_multi(struct link_list *ll, struct bpf_program *prog, const struct point *pts,
			size_t k, size_t e, bool retprobe)
{
	__u64 *offs = calloc(e - k, sizeof(*offs)), *cookies = calloc(e - k, sizeof(*cookies));
	__u32 cnt = 0;
	size_t i;
	int fd = -ENOMEM;

	if (!offs || !cookies)
		goto cleanup;
	for (i = k; i < e; i++) {
		if (!retprobe && !pts[i].ret)
			continue;
		offs[cnt] = pts[i].offset;
		cookies[cnt++] = pts[i].cookie;
	}
	fd = 0;
	if (cnt)
		fd = uprobe_multi_attach(prog, pts[k].t->attach_path, offs, cookies, cnt, pts[k].pid,
					 retprobe);
	if (fd > 0)
		fd = links_push_fd(ll, fd, retprobe) ? -ENOMEM : 1;
cleanup:
	free(offs);
	free(cookies);
	return fd;
}

/* Marks the points k..e-1 that the link just made covers. */
static void mark(struct point *pts, size_t k, size_t e, bool retprobe)
{
	size_t i;

	for (i = k; i < e; i++) {
		if (retprobe)
			pts[i].ret = true;
		else if (pts[i].ret)
			pts[i].entry = true;
	}
}

/*
 * Points k..e-1 (one target, one pid) in one link; if the kernel refuses it,
 * one link each, to probe what can be and name what cannot. Returns the
 * last error, 0 when none.
 */
static int attach_group(struct link_list *ll, struct bpf_program *prog, struct point *pts,
			size_t k, size_t e, bool retprobe)
{
	int err = attach_multi(ll, prog, pts, k, e, retprobe), last = 0;
	size_t i;

	if (err >= 0) {
		mark(pts, k, e, retprobe);
		return 0;
	}
	for (i = k; i < e; i++) {
		if (!retprobe && !pts[i].ret)
			continue;
		err = e - k == 1 || err == -ENOMEM ? err : attach_multi(ll, prog, pts, i, i + 1, retprobe);
		if (err < 0) {
			warn_point(&pts[i], err);
			last = err;
		} else {
			mark(pts, i, i + 1, retprobe);
		}
	}
	return last;
}

static void report(const struct point *pt, const pid_t *pids)
{
	if (pt->pid == pids[0])
		pr_info("probing %s in %s (%s) at offset 0x%llx\n", pt->pf->name, pt->t->path,
			pt->t->origin, (unsigned long long)pt->offset);
}

/* With uprobe_multi links: per target and pid, one link of returns, then one of entries. */
static int attach_points_multi(struct link_list *ll, struct bpf_program *entry,
			       struct bpf_program *ret, struct point *pts, size_t n,
			       const pid_t *pids, int *last_err)
{
	int probed = 0, err;
	size_t k, e, i;

	for (k = 0; k < n; k = e) {
		e = group_end(pts, k, n);
		err = attach_group(ll, ret, pts, k, e, true);
		if (err)
			*last_err = err;
	}
	for (k = 0; k < n; k = e) {
		e = group_end(pts, k, n);
		err = attach_group(ll, entry, pts, k, e, false);
		if (err)
			*last_err = err;
		/* A return probe whose entry failed stays in its group's link: it
		 * only counts unmatched returns. */
		for (i = k; i < e; i++) {
			if (!pts[i].entry)
				continue;
			probed++;
			report(&pts[i], pids);
		}
	}
	return probed;
}

/* One link per probe: returns first, then entries. */
static int attach_points_single(struct link_list *ll, struct bpf_program *entry,
				struct bpf_program *ret, struct point *pts, size_t n,
				const pid_t *pids, int *last_err)
{
	int probed = 0, err;
	size_t k;

	for (k = 0; k < n; k++) {
		err = attach_point(ll, ret, &pts[k], true);
		if (err) {
			*last_err = err;
			continue;
		}
		pts[k].ret = true;
		pts[k].ret_link = ll->v[ll->n - 1];
	}
	for (k = 0; k < n; k++) {
		if (!pts[k].ret)
			continue;
		err = attach_point(ll, entry, &pts[k], false);
		if (err) {
			/* A return without its entry would only count unmatched returns. */
			links_remove(ll, pts[k].ret_link);
			*last_err = err;
			continue;
		}
		probed++;
		report(&pts[k], pids);
	}
	return probed;
}

/*
 * Every return probe is attached before any entry probe: a call that enters
 * a function whose entry probe is live then always has its return probe too
 * (the kernel arms it at entry). A call already running when its return
 * probe arrives returns unseen; one that enters between the two passes has a
 * return without an entry, which the BPF side pairs by stack pointer,
 * ignores and counts. Either way only that call is missed.
 */
int attach_targets(struct link_list *ll, struct bpf_program *entry, struct bpf_program *ret,
		   const struct target_list *tl, const pid_t *pids, int npids)
{
	static const pid_t all = -1;
	const struct target *t;
	struct point *pts = NULL;
	size_t i, n = 0, cap = 0;
	int fi, p, err, probed, last_err = -ENOENT;

	if (npids == 0) {
		pids = &all;
		npids = 1;
	}
	/* By target, then pid: the points of one link are next to each other. */
	for (i = 0; i < tl->n; i++) {
		t = &tl->v[i];
		for (p = 0; p < npids; p++) {
			for (fi = 0; fi < tls_libs[t->lib]->nfuncs; fi++) {
				if (!t->pts.offsets[fi])
					continue;
				if (ARRAY_MAKE_ROOM(pts, n, cap, 32)) {
					err = -ENOMEM;
					goto cleanup;
				}
				pts[n++] = (struct point){
					.t = t, .pf = &tls_libs[t->lib]->funcs[fi],
					.offset = t->pts.offsets[fi], .cookie = probe_cookie(t->lib, fi),
					.pid = pids[p],
				};
			}
		}
	}
	if (uprobe_multi_supported()) {
		probed = attach_points_multi(ll, entry, ret, pts, n, pids, &last_err);
	} else {
		pr_info("attaching one link per probe (no uprobe_multi links)\n");
		probed = attach_points_single(ll, entry, ret, pts, n, pids, &last_err);
	}
	err = 0;
cleanup:
	free(pts);
	if (err)
		return err;
	return probed ? probed : last_err;
}
