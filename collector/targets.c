/* Discovery of probe targets from /proc and the library directories. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <linux/types.h>
#include "tlstap.h"
#include "elf_image.h"
#include "log.h"
#include "probe_table.h"
#include "targets.h"

/* Bounds on what /proc may hand us. */
#define MAX_MAPS_LINES	200000
#define MAX_PROCS	1000000

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

void targets_free(struct target_list *tl)
{
	free(tl->v);
	free(tl->seen);
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

/* Parses path: 1 when it is added as a target, -ENOENT when it is ELF without
 * the functions, another negative errno when it cannot be used. */
static int classify(struct target_list *tl, const char *path, const char *origin,
		    const struct stat *st)
{
	static const uint8_t libs[] = { TLSTAP_LIB_OPENSSL, TLSTAP_LIB_GNUTLS };
	struct elf_image *img;
	struct target t;
	bool found, any = false;
	size_t i;
	int err = 0;

	memset(&t, 0, sizeof(t));
	if (strlen(path) >= sizeof(t.path))
		return -ENAMETOOLONG;
	strcpy(t.path, path);
	snprintf(t.origin, sizeof(t.origin), "%s", origin);
	t.dev = st->st_dev;
	t.ino = st->st_ino;
	/* Read once (node's binary is 100 MB): symbols and placement both use it. */
	err = elf_image_open(&img, path);
	if (err) {
		pr_debug("%s: not probed: %s\n", path, strerror(-err));
		return err;
	}
	for (i = 0; i < sizeof(libs); i++) {
		resolve_lib(img, libs[i], &t, &found);
		if (!found)
			continue;
		targets_place(&t, img, tl->mode);
		err = push_target(tl, &t);
		if (err)
			goto cleanup;
		any = true;
	}
	err = any ? 1 : -ENOENT;
cleanup:
	elf_image_close(img);
	return err;
}

int targets_add_file(struct target_list *tl, const char *path, const char *origin, bool strict)
{
	struct seen_file *seen;
	struct stat st;
	int result, err;

	if (stat(path, &st))
		return strict ? -errno : 0;
	if (!S_ISREG(st.st_mode))
		return strict ? -ENOEXEC : 0;
	seen = find_seen(tl, st.st_dev, st.st_ino);
	if (seen) {
		result = seen->result;
	} else {
		result = classify(tl, path, origin, &st);
		if (result == -ENOMEM)
			return result;
		err = mark_seen(tl, st.st_dev, st.st_ino, result);
		if (err)
			return err;
	}
	if (result > 0)
		return 1;
	return strict ? result : 0;
}

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The path field of a /proc/PID/maps line, or NULL for anonymous maps. */
static char *maps_path(char *line)
{
	char *p = line;
	int field;

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
	/* Chosen by the process: no control bytes into a terminal. */
	for (; *comm; comm++)
		if ((unsigned char)*comm < 0x20 || (unsigned char)*comm >= 0x7f)
			*comm = '?';
}

/*
 * Adds the files pid maps. all_files: any mapped ELF with TLS functions
 * (for -p, where thoroughness is cheap); otherwise only TLS library names.
 */
static int scan_maps(struct target_list *tl, pid_t pid, bool all_files)
{
	char line[PATH_MAX + 256], full[PATH_MAX + 64], origin[160], comm[32];
	const char *base;
	char *path;
	FILE *f;
	int nlines = 0, err = 0, found = 0;

	snprintf(full, sizeof(full), "/proc/%d/maps", pid);
	f = fopen(full, "re");
	if (!f)
		return -errno;
	proc_comm(pid, comm, sizeof(comm));
	snprintf(origin, sizeof(origin), "mapped by %s[%d]", comm, pid);
	while (fgets(line, sizeof(line), f) && nlines++ < MAX_MAPS_LINES) {
		if (!strchr(line, '\n'))
			break;	/* longer than any valid path: stop trusting this file */
		path = maps_path(line);
		if (!path || strstr(path, " (deleted)"))
			continue;
		base = strrchr(path, '/') + 1;
		if (!all_files && !targets_is_tls_lib_name(base))
			continue;
		/* Through the process's root: right for other mount namespaces too,
		 * but the plain path reads better when it is the same file. */
		if (snprintf(full, sizeof(full), "/proc/%d/root%s", pid, path) >= (int)sizeof(full))
			continue;
		if (same_file(full, path) && strlen(path) < sizeof(full))
			memmove(full, path, strlen(path) + 1);
		err = targets_add_file(tl, full, origin, false);
		if (err < 0)
			break;
		found += err;
		err = 0;
	}
	fclose(f);
	return err ? err : found;
}

static int scan_exe(struct target_list *tl, pid_t pid)
{
	char path[64], origin[160], comm[32];

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	proc_comm(pid, comm, sizeof(comm));
	snprintf(origin, sizeof(origin), "executable of %s[%d]", comm, pid);
	return targets_add_file(tl, path, origin, false);
}

int targets_scan_pid(struct target_list *tl, pid_t pid)
{
	char path[64];
	struct stat st;
	int err, exe;

	snprintf(path, sizeof(path), "/proc/%d", pid);
	if (stat(path, &st))
		return -ESRCH;
	exe = scan_exe(tl, pid);
	if (exe < 0)
		return exe;
	err = scan_maps(tl, pid, true);
	if (err < 0)
		return err == -ENOENT || err == -ESRCH ? -ESRCH : err;
	return err + exe;
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
		if (!targets_is_tls_lib_name(de->d_name))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
			continue;
		/* The real file, not the libssl.so development link to it. */
		if (realpath(path, real))
			strcpy(path, real);
		err = targets_add_file(tl, path, "installed", false);
		if (err < 0)
			break;
		err = 0;
	}
	closedir(d);
	return err;
}

int targets_scan_system(struct target_list *tl)
{
	struct dirent *de;
	size_t i;
	DIR *d;
	int n = 0, err = 0;
	pid_t pid;

	d = opendir("/proc");
	if (!d)
		return -errno;
	while ((de = readdir(d)) && n++ < MAX_PROCS) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = (pid_t)strtol(de->d_name, NULL, 10);
		if (pid <= 0)
			continue;
		/* Processes come and go while we look: their errors do not matter. */
		err = scan_exe(tl, pid);
		if (err >= 0)
			err = scan_maps(tl, pid, false);
		if (err == -ENOMEM)
			break;
		err = 0;
	}
	closedir(d);
	if (err)
		return err;
	for (i = 0; i < sizeof(lib_dirs) / sizeof(lib_dirs[0]); i++) {
		err = scan_lib_dir(tl, lib_dirs[i]);
		if (err)
			return err;
	}
	return 0;
}
