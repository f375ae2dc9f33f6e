/* Live output on stdout that a stop request can always get past, even when nobody reads it. */
#ifndef TLSTAP_OUTSTREAM_H
#define TLSTAP_OUTSTREAM_H

#include <signal.h>
#include <stdio.h>
#include <linux/types.h>
#include "nbfd.h"

struct outstream;

/*
 * A FILE writing to fd with a buf_size buffer. Writes wait for a slow reader
 * while *stop is 0; once it is set they wait at most NBFD_STOP_GRACE_MS
 * in all, then count what they could not write and drop it (see nbfd.h for
 * how pipes, terminals and sockets are written without blocking).
 * Returns 0 or a negative errno.
 */
int outstream_open(struct outstream **os, FILE **f, int fd, size_t buf_size,
		   const volatile sig_atomic_t *stop);
/* Bytes dropped because the reader did not take them after the stop request. */
__u64 outstream_dropped(const struct outstream *os);
/* Closes the FILE (flushing what it can) and frees everything. */
void outstream_close(struct outstream *os, FILE *f);

#endif
