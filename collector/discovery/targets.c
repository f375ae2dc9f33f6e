/* Examining one candidate file: opened once, judged once, kept open as a target with its probe points. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <linux/types.h>
#include "tlstap.h"
#include "array_grow.h"
#include "elf_image.h"
#include "log.h"
#include "probe_table.h"
#include "targets_impl.h"

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

struct seen_file *find_seen(struct target_list *tl, dev_t dev, ino_t ino)
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
	if (ARRAY_MAKE_ROOM(tl->seen, tl->nseen, tl->capseen, 64))
		return -ENOMEM;
	tl->seen[tl->nseen++] = (struct seen_file){ .dev = dev, .ino = ino, .result = result };
	return 0;
}

/* Whether img defines one of l's marks (false when l has none). */
static bool has_mark(struct elf_image *img, const struct tls_lib *l)
{
	const char *const *m;
	uint64_t vaddr;

	for (m = l->marks; m && *m; m++)
		if (!elf_image_func(img, *m, &vaddr))
			return true;
	return false;
}

/*
 * Whether img is library lib as far as marks tell: it has lib's marks if lib
 * has any, and not those of an entry that shadows lib (a BoringSSL libssl
 * also has OpenSSL's functions). Decided by the file alone, whatever the
 * order of the table.
 */
static bool marks_agree(struct elf_image *img, int lib)
{
	int m;

	if (tls_libs[lib]->marks && !has_mark(img, tls_libs[lib]))
		return false;
	for (m = 0; m < tls_libs_n; m++)
		if (tls_libs[m]->shadows == tls_libs[lib] && has_mark(img, tls_libs[m]))
			return false;
	return true;
}

/*
 * Resolves library lib's exported functions in img into t: false when one
 * it requires is missing (the file does not have that library).
 */
static bool resolve_lib(struct elf_image *img, int lib, struct target *t)
{
	const struct tls_lib *l = tls_libs[lib];
	const char *names[TLS_LIB_MAX_FUNCS];
	uint64_t offs[TLS_LIB_MAX_FUNCS];
	int ids[TLS_LIB_MAX_FUNCS];
	int i, n = 0, found = 0;

	/* Internal functions are never looked up by symbol: place() finds them. */
	for (i = 0; i < l->nfuncs; i++) {
		if (l->funcs[i].kind == TLS_FUNC_INTERNAL)
			continue;
		ids[n] = i;
		names[n++] = l->funcs[i].name;
	}
	elf_image_funcs(img, names, (size_t)n, offs);
	memset(&t->pts, 0, sizeof(t->pts));
	for (i = 0; i < n; i++) {
		if (l->funcs[ids[i]].kind == TLS_FUNC_REQUIRED && !offs[i])
			return false;
		t->pts.offsets[ids[i]] = offs[i];
		found += offs[i] != 0;
	}
	/* Even an entry that required nothing needs one of its functions here. */
	if (!found || !marks_agree(img, lib))
		return false;
	t->lib = lib;
	return true;
}

void targets_place(struct target *t, struct elf_image *img, enum probe_mode mode)
{
	const struct tls_lib *l = tls_libs[t->lib];

	l->detect(img, &t->pts);
	if (mode == PROBE_EXPORTED) {
		snprintf(t->pts.placement, sizeof(t->pts.placement),
			 "exported functions: --probe-mode exported");
		return;
	}
	snprintf(t->pts.placement, sizeof(t->pts.placement), "exported functions");
	if (l->place)
		l->place(img, &t->pts);
}

/*
 * Whether img has library lib, by its own find() or by symbols; fills t's
 * probe points. One found but not probeable (an old Go) is a target too,
 * without points, so that --list-targets and the warning say why.
 */
static bool find_lib(struct elf_image *img, int lib, struct target *t, enum probe_mode mode)
{
	const struct tls_lib *l = tls_libs[lib];
	char raw[sizeof(t->pts.placement)];
	int err;

	if (!l->find) {
		if (!resolve_lib(img, lib, t))
			return false;
		targets_place(t, img, mode);
		return true;
	}
	err = l->find(img, &t->pts);
	if (err && err != -ENOTSUP)
		return false;
	t->lib = lib;
	/* It may quote the file (its version): escaped like the version. */
	memcpy(raw, t->pts.placement, sizeof(raw));
	log_escape(t->pts.placement, sizeof(t->pts.placement), raw, sizeof(raw));
	if (err)
		pr_warn("%s (%s): %s: %s\n", t->path, t->origin, l->display, t->pts.placement);
	return true;
}

/* The target gets its own descriptor of the file: the caller keeps fd. */
static int push_target_fd(struct target_list *tl, struct target *t, int fd)
{
	t->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (t->fd < 0)
		return -errno;
	snprintf(t->attach_path, sizeof(t->attach_path), "/proc/self/fd/%d", t->fd);
	if (ARRAY_MAKE_ROOM(tl->v, tl->n, tl->cap, 8)) {
		close(t->fd);
		return -ENOMEM;
	}
	tl->v[tl->n++] = *t;
	return 0;
}

/* Parses the open file fd: 1 when it is added as a target (once per
 * library it has), -ENOENT when it is ELF without the functions, another
 * negative errno when it cannot be used. */
static int classify(struct target_list *tl, int fd, const char *display, const char *origin,
		    const struct stat *st)
{
	char raw[sizeof(((struct target *)0)->pts.version)];
	struct elf_image *img;
	struct target t;
	bool any = false;
	int lib, err = 0;

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
	for (lib = 0; lib < tls_libs_n; lib++) {
		if (!find_lib(img, lib, &t, tl->mode))
			continue;
		/* The version may come from a string in the file. */
		memcpy(raw, t.pts.version, sizeof(raw));
		log_escape(t.pts.version, sizeof(t.pts.version), raw, sizeof(raw));
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
int skip_remote(struct target_list *tl, dev_t dev, ino_t ino)
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
int open_candidate(struct target_list *tl, const char *path, unsigned int flags, pid_t pid,
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
int add_open(struct target_list *tl, int fd, const struct stat *st, const char *display,
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
int add_candidate(struct target_list *tl, const char *path, const char *display,
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

