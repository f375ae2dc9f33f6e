/* Finds the files to probe: TLS libraries in use or installed, and executables with TLS linked in. */
#ifndef TLSTAP_TARGETS_H
#define TLSTAP_TARGETS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "tls_lib.h"

struct target {
	/* For people, escaped (log_escape()): where it was found, e.g.
	 * /proc/PID/root/usr/lib/...; never opened again. */
	char path[PATH_MAX];
	char origin[160];	/* how it was found, escaped, for --list-targets and -v */
	/* The file examined, open while the target lives; probes are attached
	 * through attach_path, /proc/self/fd/N, which the kernel resolves to
	 * exactly this inode whatever the path names by then. */
	int fd;
	char attach_path[32];
	dev_t dev;
	ino_t ino;
	int lib;		/* index in tls_libs (probe_table.h) */
	struct tls_points pts;	/* its probe points, version and why */
};

enum probe_mode {
	PROBE_AUTO = 0,		/* cheaper internal points when certain */
	PROBE_EXPORTED = 1,	/* the exported functions only */
};

struct target_list {
	enum probe_mode mode;
	struct target *v;
	size_t n, cap;
	/* Files already looked at (with or without TLS), so each is parsed once. */
	struct seen_file {
		dev_t dev;
		ino_t ino;
		int result;	/* what targets_add_file(strict) said of it */
	} *seen;
	size_t nseen, capseen;
	/* File systems by device: network and FUSE ones are skipped by the
	 * system-wide scan (a hung server must not hang start-up). */
	struct fs_kind {
		dev_t dev;
		bool remote;
	} *fs;
	size_t nfs;
	bool fs_self_read;	/* our own mountinfo is in fs */
	/* The system-wide scan stops looking at new files at this CLOCK_MONOTONIC
	 * time in ms; 0 sets it to TARGETS_SCAN_MS from the scan's start. */
	uint64_t scan_deadline_ms;
	unsigned int skipped_remote;	/* files on network or FUSE file systems */
	unsigned int skipped_late;	/* processes and files not looked at in time */
};

/* How long the system-wide scan may look at files. */
#define TARGETS_SCAN_MS	10000

/* Closes the targets' files and frees the list. */
void targets_free(struct target_list *tl);

/*
 * Adds path if it holds a TLS library's functions: 1 when it is a target
 * (now or already: same device and inode), 0 when it is not. With strict, a
 * file that is not ELF is -ENOEXEC and one without the functions -ENOENT.
 * path is opened once (symlinks followed); the target keeps that open file.
 */
int targets_add_file(struct target_list *tl, const char *path, const char *origin, bool strict);

/* The TLS files pid maps, and its executable if TLS is linked in: how many
 * of its files are targets, or -ESRCH if there is no such process. */
int targets_scan_pid(struct target_list *tl, pid_t pid);

/* Every TLS library mapped by any process or installed in the library
 * directories, and executables of running processes with TLS linked in. */
int targets_scan_system(struct target_list *tl);

struct elf_image;
/* Chooses t's probe points in its open image for mode, by its library's
 * rules; fills its version and placement. */
void targets_place(struct target *t, struct elf_image *img, enum probe_mode mode);

/* Whether a file system type (mountinfo's, e.g. "nfs4", "fuse.sshfs") is a
 * network or FUSE one, whose server may be slow or hung. */
bool targets_fstype_is_remote(const char *fstype);
/* The device and whether it is remote, from one /proc/PID/mountinfo line:
 * 0, or -EINVAL for a line that is not one. */
int targets_mountinfo_line(const char *line, dev_t *dev, bool *remote);

#endif
