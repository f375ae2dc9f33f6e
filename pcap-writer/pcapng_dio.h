/* A capture file written with O_DIRECT: whole aligned pieces from a stage, the unaligned tail carried to the next write. */
#ifndef TLSTAP_PCAPNG_DIO_H
#define TLSTAP_PCAPNG_DIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "nbfd.h"

/*
 * File offsets, lengths and memory of O_DIRECT writes are kept multiples of
 * this: 4 KiB covers every logical block size Linux file systems use (a
 * device that wants less is satisfied too).
 */
#define PDIO_ALIGN	4096u
/* Header bytes of a block kept for counting it if it never reaches the file. */
#define PDIO_HDR	24u

/*
 * Why: a buffered write copies every byte into the page cache, allocating
 * and later writing back its pages; at capture rates that copy was most of
 * the collector's CPU with -w. O_DIRECT hands the pages to the device.
 */
struct pdio {
	bool on;		/* O_DIRECT is set on the file */
	uint8_t *stage;		/* aligned; holds the file from off on, len bytes */
	size_t cap, len;
	uint64_t off;		/* file offset of stage[0], a multiple of PDIO_ALIGN */
	/* Stage offset of the first block that begins in the stage (blocks are
	 * whole from there to len). Before it: the end of a block that began
	 * before off, whose first header bytes are in head (if head_len). */
	size_t first;
	uint8_t head[PDIO_HDR];
	size_t head_len;
	uint64_t direct_bytes;	/* written with O_DIRECT */
};

/*
 * Sets O_DIRECT on fd, at file offset off (a multiple of PDIO_ALIGN): 0, or
 * -errno and d stays off (the file is then written through the page cache).
 */
int pdio_start(struct pdio *d, int fd, uint64_t off);
/* Appends n bytes of whole blocks to the stage: 0 or -ENOMEM. */
int pdio_append(struct pdio *d, const void *p, size_t n);
/*
 * Writes the stage: its aligned part, or all of it when final (O_DIRECT
 * is then turned off for good: the file ends unaligned). A file system that
 * refuses O_DIRECT writes (EINVAL) gets them through the page cache from
 * then on. *done: bytes of the stage written, also on error.
 */
int pdio_write(struct pdio *d, struct nbfd *nb, bool final, size_t *done);
/*
 * Writes the carried tail where it belongs through the page cache, so that
 * a reader of the growing file sees every block; the stage keeps it, and
 * the next direct write writes it again. 0 or -errno (nothing is lost).
 */
int pdio_show_tail(struct pdio *d, int fd);
/* Drops the first done bytes of the stage (written), keeping the rest aligned at its start. */
void pdio_consume(struct pdio *d, size_t done);
/* Empties the stage (its bytes were counted as lost). */
void pdio_clear(struct pdio *d);
void pdio_free(struct pdio *d);

#endif
