/* --cgroup and --container: the cgroup ids the BPF filter traces (with their descendants), found at the start and as containers appear. */
#ifndef TLSTAP_CGROUP_FILTER_H
#define TLSTAP_CGROUP_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct cgroup_filter {
	int map_fd;		/* the BPF map cgroup_filter */
	const char *prefix;	/* --container, or NULL */
	size_t added;		/* ids in the map */
	bool full_said;
};

/*
 * Fills the map: the id of --cgroup's directory (path), and every container
 * cgroup whose id starts with prefix. A bad path is an error (-ENOTDIR,
 * -EMEDIUMTYPE: not a cgroup v2 directory; err says which).
 */
int cgroup_filter_start(struct cgroup_filter *cf, int map_fd, const char *path,
			const char *prefix, char *err, size_t errlen);

/* A process ran a new program (the watch's exec report): its container is
 * added when its id matches and it is not in the map yet. */
void cgroup_filter_on_exec(void *ctx, __u32 pid);

#endif
