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

/* One probe point of one target, for one pid (-1: all). */
struct point {
	const struct target *t;
	const struct tls_func *pf;
	__u64 offset, cookie;
	pid_t pid;
	struct bpf_link *ret;	/* its return probe, once attached */
};

/* Attaches prog at pt, by the open file examined, never by a path that can change. */
static int attach_point(struct link_list *ll, struct bpf_program *prog, const struct point *pt,
			bool retprobe)
{
	int err = attach_one(ll, prog, pt->t->attach_path, pt->offset, pt->cookie, pt->pid, retprobe);

	if (err)
		pr_warn("cannot probe %s in %s: %s\n", pt->pf->name, pt->t->path, strerror(-err));
	return err;
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
	size_t i, n = 0, cap = 0, k;
	int fi, p, err, probed = 0, last_err = -ENOENT;

	if (npids == 0) {
		pids = &all;
		npids = 1;
	}
	for (i = 0; i < tl->n; i++) {
		t = &tl->v[i];
		for (fi = 0; fi < tls_libs[t->lib]->nfuncs; fi++) {
			if (!t->pts.offsets[fi])
				continue;
			for (p = 0; p < npids; p++) {
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
	for (k = 0; k < n; k++) {
		err = attach_point(ll, ret, &pts[k], true);
		if (err)
			last_err = err;
		else
			pts[k].ret = ll->v[ll->n - 1];
	}
	for (k = 0; k < n; k++) {
		if (!pts[k].ret)
			continue;
		err = attach_point(ll, entry, &pts[k], false);
		if (err) {
			/* A return without its entry would only count unmatched returns. */
			links_remove(ll, pts[k].ret);
			last_err = err;
			continue;
		}
		probed++;
		if (pts[k].pid == pids[0])
			pr_info("probing %s in %s (%s) at offset 0x%llx\n", pts[k].pf->name,
				pts[k].t->path, pts[k].t->origin, (unsigned long long)pts[k].offset);
	}
	err = 0;
cleanup:
	free(pts);
	if (err)
		return err;
	return probed ? probed : last_err;
}
