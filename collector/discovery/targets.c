/* Discovery of probe targets from /proc and the library directories. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <linux/types.h>
#include "tlstap.h"
#include "elf_image.h"
#include "log.h"
#include "probe_table.h"
#include "targets.h"

/* Bounds on what /proc may hand us. */
#define MAX_MAPS_LINES	200000
#define MAX_PROCS	1000000
#define MAX_MOUNT_LINES	100000
#define MAX_FS		4096

/* How a candidate file is opened and judged. */
enum {
	ADD_STRICT = 1,		/* say why a file is not a target */
	ADD_FOLLOW = 2,		/* follow a symlink in the last component */
	ADD_LOCAL_ONLY = 4,	/* skip files on network and FUSE file systems */
};

static const char *const lib_dirs[] = {
	"/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib", "/usr/local/lib64",
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
	"/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
};

static const char *const lib_prefixes[] = { "libssl.so", "libgnutls.so" };

bool targets_is_tls_lib_name(const char *base)
{
	size_t i;

	for (i = 0; i < sizeof(lib_prefixes) / sizeof(lib_prefixes[0]); i++)
		if (!strncmp(base, lib_prefixes[i], strlen(lib_prefixes[i])))
			return true;
	return false;
}

bool targets_fstype_is_remote(const char *fstype)
{
	static const char *const remote[] = {
		"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "afs", "ceph", "coda", "glusterfs",
		"lustre", "ncpfs", "fuse", "fuseblk",
	};
	size_t i;

	if (!strncmp(fstype, "fuse.", 5))
		return true;
	for (i = 0; i < sizeof(remote) / sizeof(remote[0]); i++)
		if (!strcmp(fstype, remote[i]))
			return true;
	return false;
}

/* "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw": names
 * are escaped by the kernel (\040), so " - " only ever ends the optional fields. */
int targets_mountinfo_line(const char *line, dev_t *dev, bool *remote)
{
	unsigned int major, minor;
	char fstype[64];
	const char *sep = strstr(line, " - ");

	if (!sep || sscanf(line, "%*u %*u %u:%u ", &major, &minor) != 2 ||
	    sscanf(sep + 3, "%63s", fstype) != 1)
		return -EINVAL;
	*dev = makedev(major, minor);
	*remote = targets_fstype_is_remote(fstype);
	return 0;
}

static struct fs_kind *find_fs(struct target_list *tl, dev_t dev)
{
	size_t i;

	for (i = 0; i < tl->nfs; i++)
		if (tl->fs[i].dev == dev)
			return &tl->fs[i];
	return NULL;
}

/* Learns the file systems of one mount namespace (pid 0: ours). */
static void read_mountinfo(struct target_list *tl, pid_t pid)
{
	char path[64], line[8192];
	struct fs_kind *fs;
	bool remote;
	dev_t dev;
	FILE *f;
	int n = 0;

	if (!tl->fs && !(tl->fs = calloc(MAX_FS, sizeof(*tl->fs))))
		return;
	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/mountinfo");
	f = fopen(path, "re");
	if (!f)
		return;
	while (tl->nfs < MAX_FS && n++ < MAX_MOUNT_LINES && fgets(line, sizeof(line), f)) {
		if (!strchr(line, '\n'))
			break;	/* longer than we read: stop trusting this file */
		if (targets_mountinfo_line(line, &dev, &remote))
			continue;
		fs = find_fs(tl, dev);
		if (!fs) {
			fs = &tl->fs[tl->nfs++];
			fs->dev = dev;
		}
		fs->remote = remote;
	}
	fclose(f);
}

/*
 * Whether dev is a network or FUSE file system: from our mount namespace,
 * else from that of pid, where the file was found. Unknown counts as local.
 */
static bool dev_is_remote(struct target_list *tl, dev_t dev, pid_t pid)
{
	struct fs_kind *fs = find_fs(tl, dev);

	if (!fs && !tl->fs_self_read) {
		tl->fs_self_read = true;
		read_mountinfo(tl, 0);
		fs = find_fs(tl, dev);
	}
	if (!fs && pid > 0) {
		read_mountinfo(tl, pid);
		fs = find_fs(tl, dev);
	}
	if (!fs && tl->fs && tl->nfs < MAX_FS) {
		fs = &tl->fs[tl->nfs++];
		fs->dev = dev;
		fs->remote = false;
	}
	return fs && fs->remote;
}

/* Errors that are tlstap's, not the file's: they stop the search rather
 * than leave files out silently (each target keeps a descriptor). */
static bool out_of_resources(int err)
{
	return err == -ENOMEM || err == -EMFILE || err == -ENFILE;
}

void targets_free(struct target_list *tl)
{
	size_t i;

	for (i = 0; i < tl->n; i++)
		if (tl->v[i].fd >= 0)
			close(tl->v[i].fd);
	free(tl->v);
	free(tl->seen);
	free(tl->fs);
	memset(tl, 0, sizeof(*tl));
}

static struct seen_file *find_seen(struct target_list *tl, dev_t dev, ino_t ino)
{
	size_t i;

	for (i = 0; i < tl->nseen; i++)
		if (tl->seen[i].dev == dev && tl->seen[i].ino == ino)
			return &tl->seen[i];
	return NULL;
}

/* Remembers what a file turned out to be, so it is parsed once. */
static int mark_seen(struct target_list *tl, dev_t dev, ino_t ino, int result)
{
	struct seen_file *n;

	if (tl->nseen == tl->capseen) {
		n = realloc(tl->seen, (tl->capseen ? tl->capseen * 2 : 64) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		tl->seen = n;
		tl->capseen = tl->capseen ? tl->capseen * 2 : 64;
	}
	tl->seen[tl->nseen].dev = dev;
	tl->seen[tl->nseen].ino = ino;
	tl->seen[tl->nseen].result = result;
	tl->nseen++;
	return 0;
}

static int push_target(struct target_list *tl, const struct target *t)
{
	struct target *n;

	if (tl->n == tl->cap) {
		n = realloc(tl->v, (tl->cap ? tl->cap * 2 : 8) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		tl->v = n;
		tl->cap = tl->cap ? tl->cap * 2 : 8;
	}
	tl->v[tl->n++] = *t;
	return 0;
}

/* Resolves lib's functions in path; true when all its required ones exist. */
static void resolve_lib(struct elf_image *img, uint8_t lib, struct target *t, bool *found)
{
	const char *names[TARGET_MAX_FUNCS];
	uint64_t offs[TARGET_MAX_FUNCS];
	int ids[TARGET_MAX_FUNCS];
	int i, n = 0;

	*found = false;
	for (i = 0; i < probe_funcs_n && n < TARGET_MAX_FUNCS; i++) {
		if (probe_funcs[i].lib != lib || probe_funcs[i].placed)
			continue;
		ids[n] = i;
		names[n++] = probe_funcs[i].name;
	}
	if (n == 0)
		return;
	elf_image_funcs(img, names, n, offs);
	memset(t->offsets, 0, sizeof(t->offsets));
	for (i = 0; i < n; i++) {
		if (probe_funcs[ids[i]].required && !offs[i])
			return;
		t->offsets[ids[i]] = offs[i];
	}
	t->lib = lib;
	*found = true;
}

/* The target gets its own descriptor of the file: the caller keeps fd. */
static int push_target_fd(struct target_list *tl, struct target *t, int fd)
{
	int err;

	t->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (t->fd < 0)
		return -errno;
	snprintf(t->attach_path, sizeof(t->attach_path), "/proc/self/fd/%d", t->fd);
	err = push_target(tl, t);
	if (err)
		close(t->fd);
	return err;
}

/* Parses the open file fd: 1 when it is added as a target, -ENOENT when it
 * is ELF without the functions, another negative errno when it cannot be used. */
static int classify(struct target_list *tl, int fd, const char *display, const char *origin,
		    const struct stat *st)
{
	static const uint8_t libs[] = { TLSTAP_LIB_OPENSSL, TLSTAP_LIB_GNUTLS };
	char raw[sizeof(((struct target *)0)->version)];
	struct elf_image *img;
	struct target t;
	bool found, any = false;
	size_t i;
	int err = 0;

	memset(&t, 0, sizeof(t));
	log_escape(t.path, sizeof(t.path), display, SIZE_MAX);
	log_escape(t.origin, sizeof(t.origin), origin, SIZE_MAX);
	t.dev = st->st_dev;
	t.ino = st->st_ino;
	/* Read once (node's binary is 100 MB): symbols and placement both use it. */
	err = elf_image_open_fd(&img, fd);
	if (err) {
		pr_debug("%s: not probed: %s\n", t.path, strerror(-err));
		return err;
	}
	for (i = 0; i < sizeof(libs); i++) {
		resolve_lib(img, libs[i], &t, &found);
		if (!found)
			continue;
		targets_place(&t, img, tl->mode);
		/* The version may come from a string in the file. */
		memcpy(raw, t.version, sizeof(raw));
		log_escape(t.version, sizeof(t.version), raw, sizeof(raw));
		err = push_target_fd(tl, &t, fd);
		if (err)
			goto cleanup;
		any = true;
	}
	err = any ? 1 : -ENOENT;
cleanup:
	if (elf_image_refused(img))
		pr_debug("%s: %u sections not read: larger than tlstap reads or outside the file\n",
			 t.path, elf_image_refused(img));
	elf_image_close(img);
	return err;
}

/* A file on a network or FUSE file system, not looked at: counted once
 * however many processes map it. -EREMOTE, or -ENOMEM. */
static int skip_remote(struct target_list *tl, dev_t dev, ino_t ino)
{
	if (find_seen(tl, dev, ino))
		return -EREMOTE;
	tl->skipped_remote++;
	return mark_seen(tl, dev, ino, -EREMOTE) ? -ENOMEM : -EREMOTE;
}

/*
 * Opens path once, for everything that follows: its checks, the parse and
 * the probes all see this one file, whatever path names later. Through an
 * O_PATH descriptor first, so that only a regular file is ever opened for
 * reading (opening a device or FIFO can act or block) and a file on a
 * network or FUSE file system can be skipped before any request reaches
 * its server (statx from cached attributes).
 */
static int open_candidate(struct target_list *tl, const char *path, unsigned int flags, pid_t pid,
			  int *fdp, struct stat *st)
{
	char self[32];
	struct statx sx;
	dev_t dev;
	int pfd, fd = -1, err;

	*fdp = -1;
	pfd = open(path, O_PATH | O_CLOEXEC | (flags & ADD_FOLLOW ? 0 : O_NOFOLLOW));
	if (pfd < 0)
		return -errno;
	if (statx(pfd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE | STATX_INO, &sx)) {
		err = -errno;
		goto cleanup;
	}
	if (!S_ISREG(sx.stx_mode)) {
		err = -ENOEXEC;
		goto cleanup;
	}
	dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
	if ((flags & ADD_LOCAL_ONLY) && dev_is_remote(tl, dev, pid)) {
		err = skip_remote(tl, dev, sx.stx_ino);
		goto cleanup;
	}
	/* The same inode, now readable: /proc/self/fd/N is not a path lookup. */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
	fd = open(self, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		err = -errno;
		goto cleanup;
	}
	if (fstat(fd, st)) {
		err = -errno;
		goto cleanup;
	}
	if (!S_ISREG(st->st_mode) || st->st_dev != dev || st->st_ino != sx.stx_ino) {
		err = -ENOEXEC;
		goto cleanup;
	}
	*fdp = fd;
	fd = -1;
	err = 0;
cleanup:
	if (fd >= 0)
		close(fd);
	close(pfd);
	return err;
}

/* Judges the file open as fd (and closes it): targets_add_file()'s answers. */
static int add_open(struct target_list *tl, int fd, const struct stat *st, const char *display,
		    const char *origin, unsigned int flags)
{
	struct seen_file *seen = find_seen(tl, st->st_dev, st->st_ino);
	int result, err;

	if (seen) {
		result = seen->result;
	} else {
		result = classify(tl, fd, display, origin, st);
		if (!out_of_resources(result)) {
			err = mark_seen(tl, st->st_dev, st->st_ino, result);
			if (err)
				result = err;
		}
	}
	close(fd);
	if (out_of_resources(result))
		return result;
	if (result > 0)
		return 1;
	return flags & ADD_STRICT ? result : 0;
}

/* targets_add_file() with how to open path, and the name to show for it. */
static int add_candidate(struct target_list *tl, const char *path, const char *display,
			 const char *origin, unsigned int flags, pid_t pid)
{
	struct stat st;
	int fd, err;

	err = open_candidate(tl, path, flags, pid, &fd, &st);
	if (err)
		return out_of_resources(err) || (flags & ADD_STRICT) ? err : 0;
	return add_open(tl, fd, &st, display ? display : path, origin, flags);
}

int targets_add_file(struct target_list *tl, const char *path, const char *origin, bool strict)
{
	return add_candidate(tl, path, NULL, origin, ADD_FOLLOW | (strict ? ADD_STRICT : 0), 0);
}

/* A /proc/PID/maps line: "start-end perms offset major:minor inode path". */
struct maps_entry {
	unsigned long start, end;
	dev_t dev;
	ino_t ino;
};

/* The path of a maps line, with its other fields; NULL for anonymous maps. */
static char *maps_path(char *line, struct maps_entry *e)
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
static void proc_comm(pid_t pid, char *comm, size_t len)
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
static int add_mapped(struct target_list *tl, pid_t pid, const struct maps_entry *e,
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
static int scan_maps(struct target_list *tl, pid_t pid, bool all_files, unsigned int flags)
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
		if (!all_files && !targets_is_tls_lib_name(base))
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

static int scan_exe(struct target_list *tl, pid_t pid, unsigned int flags)
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

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Whether the system-wide scan still has time; counts what it skips. */
static bool in_time(struct target_list *tl)
{
	if (now_ms() < tl->scan_deadline_ms)
		return true;
	tl->skipped_late++;
	return false;
}

static int scan_lib_dir(struct target_list *tl, const char *dir)
{
	char path[PATH_MAX], real[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0, err = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) && n++ < 100000) {
		if (!targets_is_tls_lib_name(de->d_name) || !in_time(tl))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
			continue;
		/* The real file, not the libssl.so development link to it. */
		if (realpath(path, real))
			strcpy(path, real);
		err = add_candidate(tl, path, NULL, "installed", ADD_LOCAL_ONLY, 0);
		if (err < 0)
			break;
		err = 0;
	}
	closedir(d);
	return err;
}

/* The pids in /proc now; *pids is malloc'd. */
static int list_pids(pid_t **pids, size_t *npids)
{
	size_t cap = 0, n = 0, seen = 0;
	struct dirent *de;
	pid_t pid, *grown;
	DIR *d;
	int err = 0;

	*pids = NULL;
	d = opendir("/proc");
	if (!d)
		return -errno;
	while ((de = readdir(d)) && seen++ < MAX_PROCS) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = (pid_t)strtol(de->d_name, NULL, 10);
		if (pid <= 0)
			continue;
		if (n == cap) {
			grown = realloc(*pids, (cap ? cap * 2 : 256) * sizeof(*grown));
			if (!grown) {
				err = -ENOMEM;
				break;
			}
			*pids = grown;
			cap = cap ? cap * 2 : 256;
		}
		(*pids)[n++] = pid;
	}
	closedir(d);
	*npids = n;
	return err;
}

/*
 * Libraries first (mapped, then installed), executables last: they are
 * many, large, and anyone's, so a scan that runs out of time loses them
 * first. Files on network and FUSE file systems are not looked at.
 */
int targets_scan_system(struct target_list *tl)
{
	pid_t *pids = NULL;
	size_t npids = 0, i;
	int err;

	if (!tl->scan_deadline_ms)
		tl->scan_deadline_ms = now_ms() + TARGETS_SCAN_MS;
	err = list_pids(&pids, &npids);
	if (err)
		goto cleanup;
	/* Processes come and go while we look: their errors do not matter. */
	for (i = 0; i < npids; i++) {
		err = in_time(tl) ? scan_maps(tl, pids[i], false, ADD_LOCAL_ONLY) : 0;
		if (out_of_resources(err))
			goto cleanup;
	}
	for (i = 0; i < sizeof(lib_dirs) / sizeof(lib_dirs[0]); i++) {
		err = scan_lib_dir(tl, lib_dirs[i]);
		if (err)
			goto cleanup;
	}
	for (i = 0; i < npids; i++) {
		err = in_time(tl) ? scan_exe(tl, pids[i], ADD_LOCAL_ONLY) : 0;
		if (out_of_resources(err))
			goto cleanup;
	}
	err = 0;
cleanup:
	free(pids);
	return err;
}
