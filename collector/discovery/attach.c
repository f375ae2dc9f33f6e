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

int links_push(struct link_list *ll, struct bpf_link *link)
{
	if (ARRAY_MAKE_ROOM(ll->v, ll->n, ll->cap, 32))
		return -ENOMEM;
	ll->v[ll->n++] = link;
	return 0;
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

/* Newest first: entry probes go before the return probes they pair with. */
void links_destroy(struct link_list *ll)
{
	size_t i;

	for (i = ll->n; i > 0; i--)
		bpf_link__destroy(ll->v[i - 1]);
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
	struct bpf_link *link;	/* once attached */
};

/* Attaches pt, by the open file examined, never by a path that can change. */
static int attach_point(struct link_list *ll, struct point *pt)
{
	int err = attach_one(ll, pt->prog, pt->t->attach_path, pt->offset, pt->cookie, pt->pid,
			     pt->retprobe);

	if (err)
		pr_warn("cannot probe %s in %s%s: %s\n", pt->pf->name, pt->t->path,
			pt->is_entry || pt->retprobe ? "" : " at a RET", strerror(-err));
	else
		pt->link = ll->v[ll->n - 1];
	return err;
}

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

/* Drops the return points of entry e, which is not probed. */
static void drop_returns(struct link_list *ll, struct points *ps, const struct point *e)
{
	size_t r;

	for (r = e->ret_first; r < e->ret_first + e->nrets; r++) {
		if (ps->v[r].link)
			links_remove(ll, ps->v[r].link);
		ps->v[r].link = NULL;
	}
}

/*
 * Every return point is attached before any entry probe: a call that enters
 * a function whose entry probe is live then always has its return points
 * too (the kernel arms a return probe at entry). A call already running when
 * they arrive returns unseen; one that enters between the two passes has a
 * return without an entry, which the BPF side pairs by stack pointer (Go: by
 * depth in its goroutine's stack), ignores and counts. Either way only that
 * call is missed. An entry is probed only when all its return points are.
 */
int attach_targets(struct link_list *ll, const struct probe_progs *pp,
		   const struct target_list *tl, const pid_t *pids, int npids)
{
	static const pid_t all = -1;
	struct points ps = {};
	struct point *e;
	size_t i, k, r;
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
	for (k = 0; k < ps.n; k++) {
		if (ps.v[k].is_entry)
			continue;
		err = attach_point(ll, &ps.v[k]);
		if (err)
			last_err = err;
	}
	err = 0;
	for (k = 0; k < ps.n; k++) {
		e = &ps.v[k];
		if (!e->is_entry)
			continue;
		for (r = e->ret_first; r < e->ret_first + e->nrets && ps.v[r].link; r++)
			;
		/* A return without its entry would only count unmatched returns. */
		if (r == e->ret_first + e->nrets) {
			err = attach_point(ll, e);
			if (err)
				last_err = err;
		}
		if (r < e->ret_first + e->nrets || err) {
			drop_returns(ll, &ps, e);
			err = 0;
			continue;
		}
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
