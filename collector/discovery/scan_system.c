/* The system-wide search: every process's TLS libraries, the installed ones, then executables. */
#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "monotime.h"
#include "probe_table.h"
#include "targets_impl.h"

#define MAX_PROCS	1000000

static const char *const lib_dirs[] = {
	"/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib", "/usr/local/lib64",
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
	"/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
	/* Debian's BoringSSL (android-libboringssl) keeps its libssl.so.0 here. */
	"/usr/lib/x86_64-linux-gnu/android", "/usr/lib/aarch64-linux-gnu/android",
};

/* Whether the system-wide scan still has time; counts what it skips. */
static bool in_time(struct target_list *tl)
{
	if (mono_ms() < tl->scan_deadline_ms)
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
		if (!probe_libs_file_name(de->d_name) || !in_time(tl))
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
		tl->scan_deadline_ms = mono_ms() + TARGETS_SCAN_MS;
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
