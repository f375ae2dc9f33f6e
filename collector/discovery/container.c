/* Parses a cgroup path into the container id, its runtime and the Kubernetes pod UID it names. */
#include <string.h>
#include "container.h"

static const char *const runtime_names[CTR_RUNTIMES] = {
	[CTR_DOCKER] = "docker",
	[CTR_CONTAINERD] = "containerd",
	[CTR_CRIO] = "cri-o",
	[CTR_PODMAN] = "podman",
	[CTR_CRI] = "cri",
};

/* Names a runtime gives its container's cgroup: PREFIX<id> then SUFFIX. */
static const struct {
	const char *prefix, *suffix;
	unsigned char runtime;
} forms[] = {
	{ "docker-", ".scope", CTR_DOCKER },		/* systemd driver */
	{ "cri-containerd-", ".scope", CTR_CONTAINERD },
	{ "crio-", ".scope", CTR_CRIO },
	{ "libpod-", ".scope", CTR_PODMAN },
	{ "libpod-", "", CTR_PODMAN },			/* podman, cgroupfs driver */
};

const char *container_runtime_name(int runtime)
{
	return runtime > CTR_NONE && runtime < CTR_RUNTIMES ? runtime_names[runtime] : NULL;
}

int container_runtime_by_name(const char *name, size_t len)
{
	int i;

	for (i = CTR_NONE + 1; i < CTR_RUNTIMES; i++)
		if (strlen(runtime_names[i]) == len && !memcmp(runtime_names[i], name, len))
			return i;
	return -1;
}

bool container_is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool has_prefix(const char *s, size_t n, const char *prefix)
{
	size_t p = strlen(prefix);

	return n >= p && !memcmp(s, prefix, p);
}

/* A path component c[0..n) that is exactly an id: 64 hex digits. */
static bool is_id(const char *c, size_t n)
{
	return n == CONTAINER_ID_LEN && container_is_hex(c, n);
}

/* The runtime of a container cgroup named c[0..n) (its id to *id), or CTR_NONE. */
static int component_container(const char *c, size_t n, const char *prev, size_t prev_n,
			       bool in_pod, const char **id)
{
	size_t i, p, s;

	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		p = strlen(forms[i].prefix);
		s = strlen(forms[i].suffix);
		if (n == p + CONTAINER_ID_LEN + s && has_prefix(c, n, forms[i].prefix) &&
		    !memcmp(c + p + CONTAINER_ID_LEN, forms[i].suffix, s) &&
		    is_id(c + p, CONTAINER_ID_LEN)) {
			*id = c + p;
			return forms[i].runtime;
		}
	}
	if (!is_id(c, n))
		return CTR_NONE;
	*id = c;
	/* cgroupfs driver: /docker/<id>, or a bare id inside a pod's cgroup. */
	if (prev_n == 6 && !memcmp(prev, "docker", 6))
		return CTR_DOCKER;
	return in_pod ? CTR_CRI : CTR_NONE;
}

/*
 * u[0..36) as a pod UID with separator sep ('-', or '_' in systemd unit
 * names, where '-' means nesting), written lowercase with dashes to out.
 */
static bool parse_uid(const char *u, char sep, char *out)
{
	size_t i;

	for (i = 0; i < POD_UID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (u[i] != sep)
				return false;
			out[i] = '-';
		} else if (container_is_hex(&u[i], 1)) {
			out[i] = u[i];
		} else {
			return false;
		}
	}
	out[POD_UID_LEN] = '\0';
	return true;
}

bool container_is_uid(const char *s)
{
	char out[POD_UID_LEN + 1];

	return strnlen(s, POD_UID_LEN + 1) == POD_UID_LEN && parse_uid(s, '-', out);
}

/* A pod's cgroup: pod<uid> under kubepods (cgroupfs), or
 * kubepods[-class]-pod<uid_with_underscores>.slice (systemd). */
static bool component_pod(const char *c, size_t n, bool under_kubepods, char *uid)
{
	if (under_kubepods && n == 3 + POD_UID_LEN && has_prefix(c, n, "pod"))
		return parse_uid(c + 3, '-', uid);
	/* "kubepods" "-pod" <uid> ".slice" at least. */
	if (!has_prefix(c, n, "kubepods-") || n < 8 + 4 + POD_UID_LEN + 6 ||
	    memcmp(c + n - 6, ".slice", 6))
		return false;
	c += n - 6 - POD_UID_LEN - 4;
	return !memcmp(c, "-pod", 4) && parse_uid(c + 4, '_', uid);
}

bool container_parse_path(const char *path, struct container_info *ci)
{
	const char *c = path, *end, *prev = "", *id;
	char uid[POD_UID_LEN + 1];
	size_t n, prev_n = 0;
	bool kubepods = false;
	int rt;

	memset(ci, 0, sizeof(*ci));
	if (!path || strnlen(path, CONTAINER_PATH_MAX + 1) > CONTAINER_PATH_MAX)
		return false;
	for (; *c; prev = c, prev_n = n, c = *end ? end + 1 : end) {
		end = strchrnul(c, '/');
		n = (size_t)(end - c);
		if (has_prefix(c, n, "kubepods"))
			kubepods = true;
		/* A pod further in replaces one further out (nested clusters). */
		if (component_pod(c, n, kubepods, uid)) {
			memcpy(ci->pod_uid, uid, sizeof(uid));
			ci->pod_end = (unsigned short)(end - path);
			continue;
		}
		rt = component_container(c, n, prev, prev_n, ci->pod_uid[0] != '\0', &id);
		if (rt != CTR_NONE) {
			ci->runtime = (unsigned char)rt;
			memcpy(ci->id, id, CONTAINER_ID_LEN);
			ci->id[CONTAINER_ID_LEN] = '\0';
			ci->id_end = (unsigned short)(end - path);
		}
	}
	return ci->runtime != CTR_NONE || ci->pod_uid[0];
}
