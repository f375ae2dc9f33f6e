/* Finds the cgroups --cgroup and --container name and puts their ids in the BPF filter map. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include "cgroup_cache.h"
#include "cgroup_filter.h"
#include "cgroup_fs.h"
#include "container.h"
#include "log.h"
#include "tlstap.h"

static void add_id(struct cgroup_filter *cf, __u64 id)
{
	__u8 one = 1;

	if (!bpf_map_lookup_elem(cf->map_fd, &id, &one))
		return;
	if (bpf_map_update_elem(cf->map_fd, &id, &one, BPF_NOEXIST)) {
		if (!cf->full_said)
			pr_warn("--container: more than %d matching cgroups; later ones are not traced\n",
				TLSTAP_MAX_CGROUP_FILTER);
		cf->full_said = true;
		return;
	}
	cf->added++;
}

static bool matches(const struct cgroup_filter *cf, const char *rel)
{
	struct container_info ci;

	return cgroup_container_of(rel, &ci) && ci.runtime != CTR_NONE &&
	       !strncmp(ci.id, cf->prefix, strlen(cf->prefix));
}

/* A container's cgroup that matches is added; below it nothing more is needed. */
static int on_cgroup(void *ctx, const char *rel, __u64 id)
{
	struct cgroup_filter *cf = ctx;

	if (!matches(cf, rel))
		return 0;
	add_id(cf, id);
	return 1;
}

int cgroup_filter_start(struct cgroup_filter *cf, int map_fd, const char *path,
			const char *prefix, char *err, size_t errlen)
{
	__u64 id;
	int rc;

	memset(cf, 0, sizeof(*cf));
	cf->map_fd = map_fd;
	cf->prefix = prefix;
	if (path) {
		rc = cgroup_fs_id_of(path, &id);
		if (rc) {
			snprintf(err, errlen, "--cgroup: '%s' is not a cgroup v2 directory%s%s", path,
				 rc == -EMEDIUMTYPE || rc == -ENOTDIR ? "" : ": ",
				 rc == -EMEDIUMTYPE || rc == -ENOTDIR ? "" : strerror(-rc));
			return rc;
		}
		add_id(cf, id);
	}
	if (prefix) {
		rc = cgroup_fs_walk(on_cgroup, cf);
		if (rc) {
			snprintf(err, errlen, "--container: no cgroup v2 file system to look in: %s",
				 strerror(-rc));
			return rc;
		}
		if (cf->added == (path ? 1u : 0u))
			pr_warn("--container %s: no such container yet; one that starts is traced once it runs a program tlstap has not seen\n",
				prefix);
	}
	return 0;
}

void cgroup_filter_on_exec(void *ctx, __u32 pid)
{
	char rel[CONTAINER_PATH_MAX + 1], full[CONTAINER_PATH_MAX + 300];
	struct cgroup_filter *cf = ctx;
	const char *root = cgroup_fs_root();
	__u64 id;

	if (!cf->prefix || !root || cgroup_fs_proc_path(pid, rel, sizeof(rel)) || !matches(cf, rel))
		return;
	snprintf(full, sizeof(full), "%s%s", root, rel);
	if (!cgroup_fs_id_of(full, &id))
		add_id(cf, id);
}
