/* One process's TLS files: what /proc/PID/maps shows and its executable. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "probe_table.h"
#include "targets_impl.h"

/* Bounds on what /proc may hand us. */
#define MAX_MAPS_LINES	200000

/* The path of a maps line, with its other fields; NULL for anonymous maps. */
char *maps_path(char *line, struct maps_entry *e)
{
	unsigned int major, minor;
	unsigned long ino;
	char *p = line;
	int field;

	if (sscanf(line, "%lx-%lx %*s %*x %x:%x %lu ", &e->start, &e->end, &major, &minor, &ino) != 5)
		return NULL;
	e->dev = makedev(major, minor);
	e->ino = (ino_t)ino;
	/* address perms offset dev inode path */
	for (field = 0; field < 5; field++) {
		while (*p && *p != ' ')
			p++;
		while (*p == ' ')
			p++;
		if (!*p)
			return NULL;
	}
	if (*p != '/')
		return NULL;
	p[strcspn(p, "\n")] = '\0';
	return p;
}

/* The process's name as it chose it: escaped where it is shown. */
void proc_comm(pid_t pid, char *comm, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(comm, len, "?");
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(comm, (int)len, f))
		comm[strcspn(comm, "\n")] = '\0';
	fclose(f);
}

static bool same_inode(const char *a, const char *b)
{
	struct stat sa, sb;

	return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Whether pid's paths name what ours do: same mount namespace and root.
 * Asked of /proc only, never of the file systems the paths lie on. */
static bool same_view(pid_t pid)
{
	char ns[64], root[64];

	snprintf(ns, sizeof(ns), "/proc/%d/ns/mnt", pid);
	snprintf(root, sizeof(root), "/proc/%d/root", pid);
	return same_inode(ns, "/proc/self/ns/mnt") && same_inode(root, "/proc/self/root");
}

/*
 * Opens the file a mapping shows: through /proc/PID/map_files, a link to
 * exactly the mapped file that involves no lookup of the path (which could
 * be swapped, or lie on a hung file system); where that is not allowed
 * (it needs CAP_SYS_ADMIN), by the path under the process's root, which
 * the kernel wrote without symlinks: one there now was put there since.
 */
int add_mapped(struct target_list *tl, pid_t pid, const struct maps_entry *e,
		      const char *path, const char *display, const char *origin, unsigned int flags)
{
	char full[PATH_MAX + 64];
	struct stat st;
	int fd, err;

	/* Judged by the device the kernel names, before any open or lookup. */
	if ((flags & ADD_LOCAL_ONLY) && dev_is_remote(tl, e->dev, pid)) {
		err = skip_remote(tl, e->dev, e->ino);
		return err == -ENOMEM ? err : 0;
	}
	snprintf(full, sizeof(full), "/proc/%d/map_files/%lx-%lx", pid, e->start, e->end);
	err = open_candidate(tl, full, flags | ADD_FOLLOW, pid, &fd, &st);
	if (!err)
		return add_open(tl, fd, &st, display, origin, flags);
	if (err != -EPERM && err != -EACCES && err != -ENOENT)
		return out_of_resources(err) || (flags & ADD_STRICT) ? err : 0;
	if (snprintf(full, sizeof(full), "/proc/%d/root%s", pid, path) >= (int)sizeof(full))
		return 0;
	return add_candidate(tl, full, display, origin, flags, pid);
}

/*
 * Adds the files pid maps. all_files: any mapped ELF with TLS functions
 * (for -p, where thoroughness is cheap); otherwise only TLS library names.
 */
int scan_maps(struct target_list *tl, pid_t pid, bool all_files, unsigned int flags)
{
	char line[PATH_MAX + 256], rooted[PATH_MAX + 64], origin[160], comm[32];
	struct maps_entry e;
	const char *base;
	char *path;
	bool plain;
	FILE *f;
	int nlines = 0, err = 0, found = 0;

	snprintf(rooted, sizeof(rooted), "/proc/%d/maps", pid);
	f = fopen(rooted, "re");
	if (!f)
		return -errno;
	proc_comm(pid, comm, sizeof(comm));
	snprintf(origin, sizeof(origin), "mapped by %s[%d]", comm, pid);
	/* The plain path reads better, where it names the same file for us. */
	plain = same_view(pid);
	while (fgets(line, sizeof(line), f) && nlines++ < MAX_MAPS_LINES) {
		if (!strchr(line, '\n'))
			break;	/* longer than any valid path: stop trusting this file */
		path = maps_path(line, &e);
		if (!path || strstr(path, " (deleted)"))
			continue;
		base = strrchr(path, '/') + 1;
		if (!all_files && !probe_libs_file_name(base))
			continue;
		if (snprintf(rooted, sizeof(rooted), "/proc/%d/root%s", pid, path) >= (int)sizeof(rooted))
			continue;
		err = add_mapped(tl, pid, &e, path, plain ? path : rooted, origin, flags);
		if (err < 0)
			break;
		found += err;
		err = 0;
	}
	fclose(f);
	return err ? err : found;
}

int scan_exe(struct target_list *tl, pid_t pid, unsigned int flags)
{
	char path[64], origin[160], comm[32];

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	proc_comm(pid, comm, sizeof(comm));
	snprintf(origin, sizeof(origin), "executable of %s[%d]", comm, pid);
	/* A magic link to the file the process runs: followed, not looked up. */
	return add_candidate(tl, path, NULL, origin, flags | ADD_FOLLOW, pid);
}

int targets_scan_pid(struct target_list *tl, pid_t pid)
{
	char path[64];
	struct stat st;
	int err, exe;

	snprintf(path, sizeof(path), "/proc/%d", pid);
	if (stat(path, &st))
		return -ESRCH;
	exe = scan_exe(tl, pid, 0);
	if (exe < 0)
		return exe;
	err = scan_maps(tl, pid, true, 0);
	if (err < 0)
		return err == -ENOENT || err == -ESRCH ? -ESRCH : err;
	return err + exe;
}

