/* Uprobe attachment with a BPF cookie per probe point (see TLSTAP_COOKIE). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include "tlstap.h"
#include "attach.h"
#include "log.h"
#include "probe_table.h"

int links_push(struct link_list *ll, struct bpf_link *link)
{
	struct bpf_link **n;

	if (ll->n == ll->cap) {
		n = realloc(ll->v, (ll->cap ? ll->cap * 2 : 32) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		ll->v = n;
		ll->cap = ll->cap ? ll->cap * 2 : 32;
	}
	ll->v[ll->n++] = link;
	return 0;
}

void links_destroy(struct link_list *ll)
{
	size_t i;

	for (i = 0; i < ll->n; i++)
		bpf_link__destroy(ll->v[i]);
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

int attach_targets(struct link_list *ll, struct bpf_program *entry, struct bpf_program *ret,
		   const struct target_list *tl, const pid_t *pids, int npids)
{
	static const pid_t all = -1;
	const struct probe_func *pf;
	const struct target *t;
	size_t i;
	int id, k, err, probed = 0, last_err = -ENOENT;
	__u64 cookie;

	if (npids == 0) {
		pids = &all;
		npids = 1;
	}
	for (i = 0; i < tl->n; i++) {
		t = &tl->v[i];
		for (id = 0; id < probe_funcs_n && id < TARGET_MAX_FUNCS; id++) {
			pf = &probe_funcs[id];
			if (pf->lib != t->lib || !t->offsets[id])
				continue;
			cookie = TLSTAP_COOKIE(id, pf->lib, pf->dir, pf->style);
			for (k = 0; k < npids; k++) {
				/* By the open file examined, never by a path that can change. */
				err = attach_one(ll, entry, t->attach_path, t->offsets[id], cookie, pids[k],
						 false);
				if (!err) {
					err = attach_one(ll, ret, t->attach_path, t->offsets[id], cookie,
							 pids[k], true);
					/* An entry without its return would leave calls open. */
					if (err)
						bpf_link__destroy(ll->v[--ll->n]);
				}
				if (err) {
					pr_warn("cannot probe %s in %s: %s\n", pf->name, t->path, strerror(-err));
					last_err = err;
					continue;
				}
				probed++;
			}
			pr_info("probing %s in %s (%s) at offset 0x%llx\n", pf->name, t->path, t->origin,
				(unsigned long long)t->offsets[id]);
		}
	}
	return probed ? probed : last_err;
}
