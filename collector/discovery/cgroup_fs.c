/* The cgroup v2 file system: its mount, ids of directories (file handles), directories of ids, /proc/PID/cgroup and a bounded walk. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include "cgroup_fs.h"

/* A cgroup2 directory's file handle is its 64-bit kernfs id. */
struct cg_handle {
	struct file_handle fh;
	__u64 id;
};

static char root[256];
static int root_state;	/* 0: not looked for, 1: found, -1: none */

/* The mount point of the first cgroup2 line of mountinfo (field 5, octal escapes kept). */
const char *cgroup_fs_root(void)
{
	char line[1024], mnt[256], *dash;
	FILE *f;

	if (root_state)
		return root_state > 0 ? root : NULL;
	root_state = -1;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		dash = strstr(line, " - cgroup2 ");
		if (!dash || sscanf(line, "%*s %*s %*s %*s %255s", mnt) != 1 || strchr(mnt, '\\'))
			continue;
		snprintf(root, sizeof(root), "%s", mnt);
		root_state = 1;
		break;
	}
	fclose(f);
	return root_state > 0 ? root : NULL;
}

int cgroup_fs_id_of(const char *path, __u64 *id)
{
	struct cg_handle h = { .fh.handle_bytes = sizeof(__u64) };
	struct statfs sfs;
	struct stat st;
	int mount_id;

	if (stat(path, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (statfs(path, &sfs))
		return -errno;
	if (sfs.f_type != CGROUP2_SUPER_MAGIC)
		return -EMEDIUMTYPE;
	if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mount_id, 0))
		return -errno;
	if (h.fh.handle_bytes != sizeof(__u64))
		return -EPROTO;
	memcpy(id, h.fh.f_handle, sizeof(*id));
	return 0;
}

/* The handle type of the mount (kernfs's), learnt from the root's handle. */
static int handle_type(void)
{
	static int type = -1;
	struct cg_handle h = { .fh.handle_bytes = sizeof(__u64) };
	int mount_id;

	if (type < 0 && cgroup_fs_root() &&
	    !name_to_handle_at(AT_FDCWD, cgroup_fs_root(), &h.fh, &mount_id, 0))
		type = h.fh.handle_type;
	return type;
}

int cgroup_fs_path_of(__u64 id, char *out, size_t len)
{
	struct cg_handle h = { .fh.handle_bytes = sizeof(__u64) };
	char link[64], target[4096 + 256];
	const char *r = cgroup_fs_root();
	int mfd = -1, fd = -1, err;
	size_t rl;
	ssize_t n;

	if (!r || handle_type() < 0)
		return -ENOENT;
	h.fh.handle_type = handle_type();
	memcpy(h.fh.f_handle, &id, sizeof(id));
	mfd = open(r, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = mfd < 0 ? -1 : open_by_handle_at(mfd, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	err = n < 0 ? -errno : 0;
	if (err)
		goto out;
	target[n] = '\0';
	rl = strlen(r);
	/* Outside the mount (another cgroup namespace's view): not named. */
	if (strncmp(target, r, rl) || (target[rl] && target[rl] != '/')) {
		err = -EXDEV;
		goto out;
	}
	err = snprintf(out, len, "%s", target[rl] ? target + rl : "/") >= (int)len ? -ENAMETOOLONG : 0;
out:
	if (fd >= 0)
		close(fd);
	if (mfd >= 0)
		close(mfd);
	return err;
}

int cgroup_fs_root_owned(const char *rel, size_t len)
{
	const char *r = cgroup_fs_root(), *c = rel, *end = rel + len, *slash;
	char name[256];
	struct stat st;
	int fd, next, err = 0;
	size_t n;

	if (!r || len > strnlen(rel, len + 1))
		return -EINVAL;
	fd = open(r, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* One component at a time, never following a link (cgroupfs has none). */
	while (c < end && !err) {
		while (c < end && *c == '/')
			c++;
		if (c == end)
			break;
		slash = memchr(c, '/', (size_t)(end - c));
		n = (size_t)((slash ? slash : end) - c);
		if (n >= sizeof(name) || (n == 2 && !memcmp(c, "..", 2)) || (n == 1 && *c == '.')) {
			err = -EINVAL;
			break;
		}
		memcpy(name, c, n);
		name[n] = '\0';
		next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			err = -errno;
		else {
			close(fd);
			fd = next;
		}
		c += n;
	}
	if (!err)
		err = fstat(fd, &st) ? -errno : st.st_uid == 0;
	close(fd);
	return err;
}

int cgroup_fs_proc_path(__u32 pid, char *out, size_t len)
{
	char path[64], line[4200];
	int err = -ENOENT;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/cgroup", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		n = strcspn(line + 3, "\n");
		line[3 + n] = '\0';
		err = n < len ? 0 : -ENAMETOOLONG;
		if (!err)
			memcpy(out, line + 3, n + 1);
		break;
	}
	fclose(f);
	return err;
}

struct walk {
	int (*fn)(void *ctx, const char *rel, __u64 id);
	void *ctx;
	size_t seen;
	char path[4096];
	size_t rootlen;
};

/* Depth first from w->path (the directory, its id already reported). */
static void walk_dir(struct walk *w, int depth)
{
	size_t len = strlen(w->path);
	struct dirent *de;
	__u64 id;
	DIR *d;

	if (depth > 64 || !(d = opendir(w->path)))
		return;
	while ((de = readdir(d)) && w->seen < CGROUP_FS_WALK_MAX) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (snprintf(w->path + len, sizeof(w->path) - len, "/%s", de->d_name) >=
		    (int)(sizeof(w->path) - len))
			continue;
		w->seen++;
		if (!cgroup_fs_id_of(w->path, &id) && w->fn(w->ctx, w->path + w->rootlen, id) != 1)
			walk_dir(w, depth + 1);
		w->path[len] = '\0';
	}
	closedir(d);
}

int cgroup_fs_walk(int (*fn)(void *ctx, const char *rel, __u64 id), void *ctx)
{
	struct walk *w;
	const char *r = cgroup_fs_root();

	if (!r)
		return -ENOENT;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fn = fn;
	w->ctx = ctx;
	snprintf(w->path, sizeof(w->path), "%s", r);
	w->rootlen = strlen(w->path);
	walk_dir(w, 0);
	free(w);
	return 0;
}
