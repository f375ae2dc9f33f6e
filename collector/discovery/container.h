/* Which container and Kubernetes pod a cgroup v2 path names (parsing only: the path is not trusted). */
#ifndef TLSTAP_CONTAINER_H
#define TLSTAP_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>

#define CONTAINER_ID_LEN	64	/* hex digits */
#define CONTAINER_SHORT_LEN	12	/* as `docker ps` shows it */
#define POD_UID_LEN		36	/* 8-4-4-4-12 */
/* The longest path looked at; a longer one names nothing. */
#define CONTAINER_PATH_MAX	4096

enum container_runtime {
	CTR_NONE = 0,		/* the path names no container */
	CTR_DOCKER,
	CTR_CONTAINERD,
	CTR_CRIO,
	CTR_PODMAN,
	CTR_CRI,		/* kubelet's cgroupfs driver: some CRI runtime, not said which */
	CTR_RUNTIMES
};

struct container_info {
	unsigned char runtime;			/* enum container_runtime */
	char id[CONTAINER_ID_LEN + 1];		/* lowercase hex, "" when runtime is CTR_NONE */
	char pod_uid[POD_UID_LEN + 1];		/* lowercase, dashes; "" when none */
	/* Where in the path the components that named them end (the
	 * directory to ask who made it), 0 when none. */
	unsigned short id_end, pod_end;
};

/*
 * Fills ci from a cgroup path such as /system.slice/docker-<id>.scope or
 * /kubepods/burstable/pod<uid>/<id>: the innermost container wins (nested
 * runtimes), the pod is the one that path goes through. Ids must be 64
 * lowercase hex digits and pod UIDs well-formed, or they are not taken.
 * Returns true when it names a container or a pod.
 */
bool container_parse_path(const char *path, struct container_info *ci);

/* "docker", "containerd", "cri-o", "podman", "cri"; NULL for CTR_NONE or unknown. */
const char *container_runtime_name(int runtime);
/* The runtime a name gives, or -1. */
int container_runtime_by_name(const char *name, size_t len);

/* s is a pod UID as container_info holds it (lowercase, dashes). */
bool container_is_uid(const char *s);

/* s[0..n) is n lowercase hex digits. */
bool container_is_hex(const char *s, size_t n);

#endif
