/* The cgroup v2 file system: where it is mounted, a directory's id, an id's directory, a process's cgroup, and a walk over every cgroup. */
#ifndef TLSTAP_CGROUP_FS_H
#define TLSTAP_CGROUP_FS_H

#include <stddef.h>
#include <linux/types.h>

/* The cgroup2 mount point (/sys/fs/cgroup, or .../unified on hybrid
 * systems); NULL when there is none. Found once. */
const char *cgroup_fs_root(void);

/* The id of the cgroup v2 directory path (what bpf_get_current_cgroup_id
 * says of its processes): 0, -ENOTDIR, or -EMEDIUMTYPE when path is not
 * in a cgroup2 file system. */
int cgroup_fs_id_of(const char *path, __u64 *id);

/* The path, below the mount point ("/a/b"), of the cgroup with this id
 * while it exists; 0 or a negative errno. */
int cgroup_fs_path_of(__u64 id, char *out, size_t len);

/* The cgroup v2 path ("0::" line) /proc/PID/cgroup gives; 0 or a negative errno. */
int cgroup_fs_proc_path(__u32 pid, char *out, size_t len);

/*
 * Whether the directory rel[0..len) under the cgroup2 mount (rel as
 * cgroup_fs_path_of gives it) is owned by root: 1, 0, or a negative errno.
 * A cgroup is named by whoever creates it, and anyone with a delegated
 * subtree (user@UID.service) can create "docker-<id>.scope": names are
 * believed only in directories that root made.
 */
int cgroup_fs_root_owned(const char *rel, size_t len);

/*
 * Calls fn for every cgroup below the mount point, parents first, with its
 * path below the mount point and its id; a directory fn returns 1 for is
 * not gone into. At most CGROUP_FS_WALK_MAX directories.
 */
#define CGROUP_FS_WALK_MAX	65536
int cgroup_fs_walk(int (*fn)(void *ctx, const char *rel, __u64 id), void *ctx);

#endif
