/* Which file descriptor a pcapng writer or reader uses: "-" for a standard stream, else a path opened safely. */
#ifndef TLSTAP_PCAPNG_FILE_H
#define TLSTAP_PCAPNG_FILE_H

#include <stdbool.h>

/*
 * path "-": *fd = std_fd, *own = false (left open at close); any other
 * path is opened by open_path, *own = true. An empty or NULL path is -EINVAL.
 */
int pcapng_file_fd(const char *path, int std_fd, int (*open_path)(const char *path, int *fd),
		   int *fd, bool *own);

/*
 * A capture file to write, never through a link and never someone else's:
 * see pcapng_open for the rules and its errors.
 */
int pcapng_file_create(const char *path, int *fd);

#endif
