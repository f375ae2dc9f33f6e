/* What targets.c, fs_kind.c, proc_maps.c and scan_system.c share inside discovery. */
#ifndef TLSTAP_TARGETS_IMPL_H
#define TLSTAP_TARGETS_IMPL_H

#include <errno.h>
#include <stdbool.h>
#include <sys/stat.h>
#include "targets.h"

/* How a candidate file is opened and judged. */
enum {
	ADD_STRICT = 1,		/* say why a file is not a target */
	ADD_FOLLOW = 2,		/* follow a symlink in the last component */
	ADD_LOCAL_ONLY = 4,	/* skip files on network and FUSE file systems */
};

/* Errors that are tlstap's, not the file's: they stop the search rather
 * than leave files out silently (each target keeps a descriptor). */
static inline bool out_of_resources(int err)
{
	return err == -ENOMEM || err == -EMFILE || err == -ENFILE;
}

/* fs_kind.c: whether dev is a network or FUSE file system (see there). */
bool dev_is_remote(struct target_list *tl, dev_t dev, pid_t pid);

/* targets.c: opening and judging one candidate file. */
int open_candidate(struct target_list *tl, const char *path, unsigned int flags, pid_t pid,
		   int *fdp, struct stat *st);
int add_open(struct target_list *tl, int fd, const struct stat *st, const char *display,
	     const char *origin, unsigned int flags);
int add_candidate(struct target_list *tl, const char *path, const char *display,
		  const char *origin, unsigned int flags, pid_t pid);
int skip_remote(struct target_list *tl, dev_t dev, ino_t ino);
/* What a file already looked at turned out to be, or NULL. */
struct seen_file *find_seen(struct target_list *tl, dev_t dev, ino_t ino);

/* proc_maps.c: what one process maps and runs. */
/* A /proc/PID/maps line: "start-end perms offset major:minor inode path". */
struct maps_entry {
	unsigned long start, end;
	dev_t dev;
	ino_t ino;
};
/* The path of a maps line, with its other fields; NULL for anonymous maps. */
char *maps_path(char *line, struct maps_entry *e);
/* The process's name as it chose it (to be escaped where shown). */
void proc_comm(pid_t pid, char *comm, size_t len);
/* Judges the file mapping e of pid shows (path: as the kernel wrote it). */
int add_mapped(struct target_list *tl, pid_t pid, const struct maps_entry *e,
	       const char *path, const char *display, const char *origin, unsigned int flags);
int scan_maps(struct target_list *tl, pid_t pid, bool all_files, unsigned int flags);
int scan_exe(struct target_list *tl, pid_t pid, unsigned int flags);

#endif
