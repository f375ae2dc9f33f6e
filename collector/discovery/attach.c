/* Uprobe attachment with a BPF cookie per probe point (struct tlstap_cookie). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include "tlstap.h"
#include "array_grow.h"
#include "attach.h"
#include "log.h"
#include "probe_table.h"
#include "uprobe_multi.h"

/*
 * One probe point of one target, for one pid (-1: all): an entry, or a
 * point its return is read at (a return probe, or a RET of an at_rets
 * library's function). An entry comes after its returns in the list:
 * ret_first and nrets name them.
 */
struct point {
	const struct target *t;
	const struct tls_func *pf;
	struct bpf_program *prog;
	__u64 offset, cookie;
	pid_t pid;
	bool is_entry, retprobe;
	size_t ret_first, nrets;
	bool attached;
	bool taken;		/* in a uprobe_multi link's set already */
	struct bpf_link *link;	/* its own link, when it has one */
};

struct points {
	struct point *v;
	size_t n, cap;
};

static int push_point(struct points *ps, const struct point *pt)
{
	if (ARRAY_MAKE_ROOM(ps->v, ps->n, ps->cap, 32))
		return -ENOMEM;
	ps->v[ps->n++] = *pt;
	return 0;
}

/* Function fi of target t in process pid: its return points, then its entry. */
static int add_function(struct points *ps, const struct probe_progs *pp, const struct target *t,
			int fi, pid_t pid)
{
	const struct tls_lib *l = tls_libs[t->lib];
	struct point pt = {
		.t = t, .pf = &l->funcs[fi], .cookie = probe_cookie(t->lib, fi), .pid = pid,
		.ret_first = ps->n,
	};
	int i, err;

	if (!l->at_rets) {
		pt.prog = pp->ret;
		pt.offset = t->pts.offsets[fi];
		pt.retprobe = true;
		err = push_point(ps, &pt);
		if (err)
			return err;
	}
	for (i = 0; l->at_rets && i < t->pts.nrets; i++) {
		if (t->pts.ret_func[i] != fi)
			continue;
		pt.prog = pp->go_ret;
		pt.offset = t->pts.rets[i];
		err = push_point(ps, &pt);
		if (err)
			return err;
	}
	pt.nrets = ps->n - pt.ret_first;
	if (pt.nrets == 0)
		return 0;	/* a return never seen: not probed at all */
	pt.prog = l->at_rets ? pp->go_entry : pp->entry;
	pt.offset = t->pts.offsets[fi];
	pt.retprobe = false;
	pt.is_entry = true;
	return push_point(ps, &pt);
}

static void warn_point(const struct point *pt, int err)
{
	pr_warn("cannot probe %s in %s%s: %s\n", pt->pf->name, pt->t->path,
		pt->is_entry || pt->retprobe ? "" : " at a RET", strerror(-err));
}

/* Whether every return point of entry e is attached. */
static bool returns_attached(const struct points *ps, const struct point *e)
{
	size_t r;

	for (r = e->ret_first; r < e->ret_first + e->nrets; r++)
		if (!ps->v[r].attached)
			return false;
	return true;
}

/* Attaches pt alone, by the open file examined, never by a path that can change. */
static int attach_point(struct link_list *ll, struct point *pt)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .bpf_cookie = pt->cookie, .retprobe = pt->retprobe);
	struct bpf_link *link;
	int err;

	link = bpf_program__attach_uprobe_opts(pt->prog, pt->pid, pt->t->attach_path, pt->offset,
					       &opts);
	err = link ? links_push(ll, link) : -errno;
	if (err && link)
		bpf_link__destroy(link);
	if (err) {
		warn_point(pt, err);
		return err;
	}
	pt->link = link;
	pt->attached = true;
	return 0;
}

/* Drops the return points of entry e, which is not probed (those with links of their own). */
static void drop_returns(struct link_list *ll, struct points *ps, const struct point *e)
{
	size_t r;

	for (r = e->ret_first; r < e->ret_first + e->nrets; r++) {
		if (ps->v[r].link)
			links_remove(ll, ps->v[r].link);
		ps->v[r].link = NULL;
	}
}

/* One link per probe: the return points first, then each entry whose returns all are. */
static int attach_single(struct link_list *ll, struct points *ps, int *last_err)
{
	struct point *e;
	size_t k;
	int err;

	for (k = 0; k < ps->n; k++) {
		if (!ps->v[k].is_entry && (err = attach_point(ll, &ps->v[k])))
			*last_err = err;
	}
	for (k = 0; k < ps->n; k++) {
		e = &ps->v[k];
		if (!e->is_entry)
			continue;
		/* A return without its entry would only count unmatched returns. */
		err = returns_attached(ps, e) ? attach_point(ll, e) : -ENOENT;
		if (err) {
			if (err != -ENOENT)
				*last_err = err;
			drop_returns(ll, ps, e);
		}
	}
	return 0;
}

/*
 * The points from k on that one uprobe_multi link can hold with ps->v[k]
 * (same file, process, program and kind; entries only when their returns
 * are attached), taken and listed in idx. Returns how many.
 */
static size_t gather(struct points *ps, size_t k, size_t *idx)
{
	const struct point *q = &ps->v[k];
	struct point *p;
	size_t j, n = 0;

	for (j = k; j < ps->n; j++) {
		p = &ps->v[j];
		if (p->taken || p->t != q->t || p->pid != q->pid || p->prog != q->prog ||
		    p->retprobe != q->retprobe || p->is_entry != q->is_entry)
			continue;
		if (p->is_entry && !returns_attached(ps, p))
			continue;
		p->taken = true;
		idx[n++] = j;
	}
	return n;
}

/* One link for the n points of idx: 0, or a negative errno (then none is attached). */
static int link_set(struct link_list *ll, struct points *ps, const size_t *idx, size_t n)
{
	__u64 *offs = calloc(n, sizeof(*offs)), *cookies = calloc(n, sizeof(*cookies));
	const struct point *q = &ps->v[idx[0]];
	int fd = -ENOMEM;
	size_t i;

	if (!offs || !cookies)
		goto cleanup;
	for (i = 0; i < n; i++) {
		offs[i] = ps->v[idx[i]].offset;
		cookies[i] = ps->v[idx[i]].cookie;
	}
	fd = uprobe_multi_attach(q->prog, q->t->attach_path, offs, cookies, (__u32)n, q->pid,
				 q->retprobe);
	if (fd >= 0)
		fd = links_push_fd(ll, fd, !q->is_entry);
	for (i = 0; i < n && fd >= 0; i++)
		ps->v[idx[i]].attached = true;
cleanup:
	free(offs);
	free(cookies);
	return fd < 0 ? fd : 0;
}

/*
 * The points of one set in one link; if the kernel refuses it, one link
 * each, to probe what can be and name what cannot.
 */
static void attach_set(struct link_list *ll, struct points *ps, const size_t *idx, size_t n,
		       int *last_err)
{
	int err = link_set(ll, ps, idx, n);
	size_t i;

	for (i = 0; err && i < n; i++) {
		int e = n > 1 && err != -ENOMEM ? link_set(ll, ps, &idx[i], 1) : err;

		if (e) {
			warn_point(&ps->v[idx[i]], e);
			*last_err = e;
		}
	}
}

/*
 * uprobe_multi links: per file, process and program one link of return
 * points, then one of entries. An entry that fails leaves its returns in
 * their shared link, where they only count unmatched returns.
 */
static int attach_multi(struct link_list *ll, struct points *ps, int *last_err)
{
	size_t *idx = calloc(ps->n ? ps->n : 1, sizeof(*idx)), k, n;
	int pass;

	if (!idx)
		return -ENOMEM;
	for (pass = 0; pass < 2; pass++) {
		for (k = 0; k < ps->n; k++) {
			if (ps->v[k].taken || ps->v[k].is_entry != (pass == 1))
				continue;
			n = gather(ps, k, idx);
			if (n)
				attach_set(ll, ps, idx, n, last_err);
		}
	}
	free(idx);
	return 0;
}

/*
 * Every return point is attached before any entry: a call that enters a
 * function whose entry probe is live then always has its return probe too
 * (the kernel arms a return probe at entry; a RET probe is there already).
 * A call already running when its return point arrives returns unseen; one
 * that enters between the two passes has a return without an entry, which
 * the BPF side pairs by stack pointer, ignores and counts. Either way only
 * that call is missed. An entry is probed only when all its returns are.
 */
int attach_targets(struct link_list *ll, const struct probe_progs *pp,
		   const struct target_list *tl, const pid_t *pids, int npids)
{
	static const pid_t all = -1;
	struct points ps = {};
	const struct point *e;
	size_t i, k;
	int fi, p, err = 0, probed = 0, last_err = -ENOENT;

	if (npids == 0) {
		pids = &all;
		npids = 1;
	}
	for (i = 0; i < tl->n && !err; i++)
		for (fi = 0; fi < tls_libs[tl->v[i].lib]->nfuncs && !err; fi++)
			for (p = 0; p < npids && !err && tl->v[i].pts.offsets[fi]; p++)
				err = add_function(&ps, pp, &tl->v[i], fi, pids[p]);
	if (err)
		goto cleanup;
	if (uprobe_multi_supported()) {
		err = attach_multi(ll, &ps, &last_err);
	} else {
		pr_info("attaching one link per probe (no uprobe_multi links)\n");
		err = attach_single(ll, &ps, &last_err);
	}
	if (err)
		goto cleanup;
	for (k = 0; k < ps.n; k++) {
		e = &ps.v[k];
		if (!e->is_entry || !e->attached)
			continue;
		probed++;
		if (e->pid == pids[0])
			pr_info("probing %s in %s (%s) at offset 0x%llx%s\n", e->pf->name, e->t->path,
				e->t->origin, (unsigned long long)e->offset,
				tls_libs[e->t->lib]->at_rets ? " and at each RET" : "");
	}
cleanup:
	free(ps.v);
	if (err)
		return err;
	return probed ? probed : last_err;
}
