/* Who a cgroup id is (container, runtime, pod): resolved once per id, in a bounded cache the outputs read. */
#ifndef TLSTAP_CGROUP_CACHE_H
#define TLSTAP_CGROUP_CACHE_H

#include <stdbool.h>
#include <linux/types.h>
#include "container.h"

/* Ids remembered at once; an older one in the same set is replaced. */
#define CGROUP_CACHE_SETS	1024
#define CGROUP_CACHE_WAYS	4

/*
 * The container and pod that cgroup path rel (under the cgroup2 mount)
 * names, each only if root made the directory that names it (see
 * cgroup_fs_root_owned): true when one is left.
 */
bool cgroup_container_of(const char *rel, struct container_info *ci);

/*
 * Live runs resolve an id they have not seen from the cgroup file system
 * (or, when its cgroup is gone, from pid's /proc/PID/cgroup); -r never
 * does (its ids are another run's): it only knows what cgroup_cache_put
 * was told from the file.
 */
void cgroup_cache_set_live(bool live);

/* The container or pod of cgroup id (pid: a process in it, for the
 * fallback), or NULL when it names none or is not known. Valid until the
 * next call of either function. */
const struct container_info *cgroup_cache_get(__u64 id, __u32 pid);

/* What a capture file says of id (ci NULL: no container). */
void cgroup_cache_put(__u64 id, const struct container_info *ci);

#endif
