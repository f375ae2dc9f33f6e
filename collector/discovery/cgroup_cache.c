/* A bounded, set-associative cache from cgroup id to its container and pod, filled once per id. */
#include <string.h>
#include <stdio.h>
#include "cgroup_cache.h"
#include "cgroup_fs.h"

struct entry {
	__u64 id;		/* 0: free */
	__u64 used;		/* for replacing the least recently used of a set */
	struct container_info ci;
};

static struct entry cache[CGROUP_CACHE_SETS][CGROUP_CACHE_WAYS];
static __u64 clock_tick;
static bool live;

void cgroup_cache_set_live(bool on)
{
	live = on;
}

static struct entry *set_of(__u64 id)
{
	return cache[(id * 0x9E3779B97F4A7C15ull) >> 54 & (CGROUP_CACHE_SETS - 1)];
}

static struct entry *find(__u64 id)
{
	struct entry *s = set_of(id);
	int i;

	for (i = 0; i < CGROUP_CACHE_WAYS; i++)
		if (s[i].id == id)
			return &s[i];
	return NULL;
}

/* A slot for id: a free one of its set, else the least recently used. */
static struct entry *slot(__u64 id)
{
	struct entry *s = set_of(id), *e = &s[0];
	int i;

	for (i = 0; i < CGROUP_CACHE_WAYS; i++) {
		if (!s[i].id)
			return &s[i];
		if (s[i].used < e->used)
			e = &s[i];
	}
	return e;
}

bool cgroup_container_of(const char *rel, struct container_info *ci)
{
	if (!container_parse_path(rel, ci))
		return false;
	if (ci->runtime != CTR_NONE && cgroup_fs_root_owned(rel, ci->id_end) != 1) {
		ci->runtime = CTR_NONE;
		ci->id[0] = '\0';
	}
	if (ci->pod_uid[0] && cgroup_fs_root_owned(rel, ci->pod_end) != 1)
		ci->pod_uid[0] = '\0';
	return ci->runtime != CTR_NONE || ci->pod_uid[0];
}

/* The path of id: from the cgroup file system, or, once the cgroup is gone
 * or not visible, from the process's /proc entry if it is still that cgroup. */
static bool resolve(__u64 id, __u32 pid, struct container_info *ci)
{
	char path[CONTAINER_PATH_MAX + 1], full[CONTAINER_PATH_MAX + 300];
	const char *root = cgroup_fs_root();
	__u64 now;

	memset(ci, 0, sizeof(*ci));
	if (cgroup_fs_path_of(id, path, sizeof(path))) {
		if (!root || !pid || cgroup_fs_proc_path(pid, path, sizeof(path)))
			return false;
		snprintf(full, sizeof(full), "%s%s", root, path);
		if (cgroup_fs_id_of(full, &now) || now != id)
			return false;
	}
	return cgroup_container_of(path, ci);
}

const struct container_info *cgroup_cache_get(__u64 id, __u32 pid)
{
	struct entry *e;

	if (!id)
		return NULL;
	e = find(id);
	if (!e) {
		if (!live)
			return NULL;
		e = slot(id);
		e->id = id;
		resolve(id, pid, &e->ci);
	}
	e->used = ++clock_tick;
	return e->ci.runtime != CTR_NONE || e->ci.pod_uid[0] ? &e->ci : NULL;
}

void cgroup_cache_put(__u64 id, const struct container_info *ci)
{
	struct entry *e;

	if (!id)
		return;
	e = find(id);
	if (!e)
		e = slot(id);
	e->id = id;
	e->used = ++clock_tick;
	if (ci)
		e->ci = *ci;
	else
		memset(&e->ci, 0, sizeof(e->ci));
}
