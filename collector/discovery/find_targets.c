/* Finding the targets the options ask for, and saying what was found and what is traced. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include "find_targets.h"
#include "log.h"
#include "probe_table.h"

/* Each target keeps its file open and each probe is a perf event: the soft
 * limit of open files (often 1024) must not decide what is traced. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			pr_debug("cannot raise the open files limit: %s\n", strerror(errno));
	}
}

/* What the system-wide scan left out, said once. */
static void report_skipped(const struct target_list *tl)
{
	if (tl->skipped_remote)
		pr_warn("files on network or FUSE file systems not looked at: %u "
			"(name them with -p or -l to probe them)\n", tl->skipped_remote);
	if (tl->skipped_late)
		pr_warn("the search for TLS files stopped after %d s; processes and files not looked at: %u "
			"(name them with -p or -l to probe them)\n", TARGETS_SCAN_MS / 1000,
			tl->skipped_late);
}

/* -p: each process's TLS files. */
static int find_in_pids(const struct tlstap_opts *o, struct target_list *tl)
{
	char known[256];
	int i, n;

	for (i = 0; i < o->npids; i++) {
		n = targets_scan_pid(tl, o->pids[i]);
		if (n == -ESRCH) {
			pr_warn("--pid: no process %d\n", o->pids[i]);
			return -EINVAL;
		}
		if (n < 0) {
			pr_warn("--pid: cannot read the files of process %d: %s\n", o->pids[i],
				strerror(-n));
			return n;
		}
		if (n == 0 && o->nlibs == 0) {
			pr_warn("--pid: process %d uses no TLS library tlstap knows (%s); "
				"name one it loads later with --lib\n", o->pids[i],
				probe_libs_join(known, sizeof(known), offsetof(struct tls_lib, display),
						", ", ", "));
			return -EINVAL;
		}
	}
	return 0;
}

/* -l: each file named, which must hold a known library's functions. */
static int find_in_files(const struct tlstap_opts *o, struct target_list *tl)
{
	char lib[LOG_ESCAPED_SIZE(256)], funcs[512];
	int i, err;

	for (i = 0; i < o->nlibs; i++) {
		log_escape(lib, sizeof(lib), o->libs[i], SIZE_MAX);
		err = targets_add_file(tl, o->libs[i], "--lib", true);
		if (err == -ENOEXEC) {
			pr_warn("--lib: %s is not an ELF executable or library\n", lib);
			return -EINVAL;
		}
		if (err == -ENOENT && access(o->libs[i], F_OK) == 0) {
			pr_warn("--lib: %s has none of the TLS functions tlstap probes (%s)\n", lib,
				probe_libs_join(funcs, sizeof(funcs),
						offsetof(struct tls_lib, funcs_desc), ", ", ", or "));
			return -EINVAL;
		}
		if (err < 0) {
			pr_warn("--lib: %s: %s\n", lib, strerror(-err));
			return -EINVAL;
		}
	}
	return 0;
}

int find_targets(const struct tlstap_opts *o, struct target_list *tl)
{
	char files[256];
	size_t k;
	int err;

	raise_nofile();
	tl->mode = o->probe_exported ? PROBE_EXPORTED : PROBE_AUTO;
	err = find_in_pids(o, tl);
	if (err)
		return err;
	if (o->npids == 0 && o->nlibs == 0) {
		err = targets_scan_system(tl);
		if (err) {
			pr_warn("cannot look for TLS libraries: %s\n", strerror(-err));
			return err;
		}
		report_skipped(tl);
	}
	err = find_in_files(o, tl);
	if (err)
		return err;
	if (tl->n == 0) {
		pr_warn("no TLS library found on this system (looked for %s in use and installed)\n",
			probe_libs_join(files, sizeof(files), offsetof(struct tls_lib, file_desc), ", ",
					" and "));
		return -ENOENT;
	}
	/* Paths, origins and versions are escaped already: they name others' files. */
	for (k = 0; k < tl->n; k++)
		pr_info("%s (%s): %s; %s\n", tl->v[k].path, tl->v[k].origin, tl->v[k].pts.version,
			tl->v[k].pts.placement);
	return 0;
}

void list_target(const struct target *t)
{
	const struct tls_lib *l = tls_libs[t->lib];
	int fi;

	printf("%s\t%s\t%s\n", l->name, t->path, t->origin);
	printf("\tversion: %s\n\tplacement: %s\n", t->pts.version, t->pts.placement);
	for (fi = 0; fi < l->nfuncs; fi++)
		if (t->pts.offsets[fi])
			printf("\t%s\t0x%llx\n", l->funcs[fi].name,
			       (unsigned long long)t->pts.offsets[fi]);
}

void list_targets(const struct target_list *tl)
{
	size_t i;

	for (i = 0; i < tl->n; i++)
		list_target(&tl->v[i]);
}

void print_tracing(const struct tlstap_opts *o, int nfuncs, size_t nfiles)
{
	char who[512] = "every process";
	int i, len = 0;

	if (o->npids) {
		len = snprintf(who, sizeof(who), "pid");
		for (i = 0; i < o->npids && len < (int)sizeof(who) - 16; i++)
			len += snprintf(who + len, sizeof(who) - len, "%s%d", i ? "," : " ", o->pids[i]);
	}
	fprintf(stderr, "tlstap: tracing %d functions in %zu files (%s%s%s%s%s)\n", nfuncs, nfiles, who,
		o->has_comm ? ", comm " : "", o->has_comm ? o->comm : "",
		o->has_uid ? ", uid filter" : "", o->empty_probes ? ", empty probes" : "");
}
