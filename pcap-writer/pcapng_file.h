/* The file of a pcapng writer or reader: "-" for a standard stream or a path opened safely, and its buffer. */
#ifndef TLSTAP_PCAPNG_FILE_H
#define TLSTAP_PCAPNG_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pcapng_file {
	int fd;
	bool own_fd;		/* false for "-": the standard stream stays open */
	uint8_t *buf;
};

/*
 * Allocates buf_size bytes of buffer (0: none), then opens path: "-" is std_fd, any
 * other path is opened by open_path. An empty or NULL path is -EINVAL. On
 * error f holds nothing (pcapng_file_close is a no-op).
 */
int pcapng_file_open(struct pcapng_file *f, const char *path, int std_fd,
		     int (*open_path)(const char *path, int *fd), size_t buf_size);

/* Frees the buffer and closes the fd if it is ours: 0 or close(2)'s -errno. */
int pcapng_file_close(struct pcapng_file *f);

/*
 * A capture file to write, never through a link and never someone else's:
 * see pcapng_open for the rules and its errors.
 */
int pcapng_file_create(const char *path, int *fd);

#endif
