/* Building one pcapng block as a list of pieces: fixed fields, options, padding and both lengths. */
#ifndef TLSTAP_PCAPNG_BLK_H
#define TLSTAP_PCAPNG_BLK_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include "pcapng_format.h"

/* Inline: the writer calls these for every field of every packet. */

/*
 * A block in construction: pieces that reference the caller's bytes (packet
 * data, strings) without copying, and a scratch area for the fixed fields.
 * The blocks built here need at most 80 scratch bytes (an ISB with every
 * option) and 7 pieces (an EPB with padding, a comment and flags).
 */
#define BLK_MAX_IOV	24
#define BLK_SCRATCH	160

struct blk {
	struct iovec iov[BLK_MAX_IOV];
	int niov;
	size_t len;			/* total so far: the block's length when done */
	uint8_t scratch[BLK_SCRATCH];
	size_t used;
	bool has_opts;
	bool overflow;			/* a bug in the writer, never input-driven */
};

static inline void blk_add(struct blk *b, const void *p, size_t n)
{
	if (!n)
		return;
	if (b->niov == BLK_MAX_IOV) {
		b->overflow = true;
		return;
	}
	b->iov[b->niov].iov_base = (void *)p;
	b->iov[b->niov].iov_len = n;
	b->niov++;
	b->len += n;
}

/* Copies n bytes into scratch; extends the last piece when it ends there. */
static inline void blk_copy(struct blk *b, const void *p, size_t n)
{
	uint8_t *dst = b->scratch + b->used;
	struct iovec *last = b->niov ? &b->iov[b->niov - 1] : NULL;

	if (n > BLK_SCRATCH - b->used) {
		b->overflow = true;
		return;
	}
	memcpy(dst, p, n);
	b->used += n;
	if (last && (uint8_t *)last->iov_base + last->iov_len == dst) {
		last->iov_len += n;
		b->len += n;
	} else {
		blk_add(b, dst, n);
	}
}

static inline void blk_u16(struct blk *b, uint16_t v)
{
	blk_copy(b, &v, sizeof(v));
}

static inline void blk_u32(struct blk *b, uint32_t v)
{
	blk_copy(b, &v, sizeof(v));
}

static inline void blk_u64(struct blk *b, uint64_t v)
{
	blk_copy(b, &v, sizeof(v));
}

static inline void blk_pad(struct blk *b)
{
	static const uint8_t zeros[4];

	blk_add(b, zeros, pcapng_pad4(b->len));
}

/* Type and a length patched by blk_end; always the first 8 scratch bytes. */
static inline void blk_begin(struct blk *b, uint32_t type)
{
	b->niov = 0;
	b->len = 0;
	b->used = 0;
	b->has_opts = false;
	b->overflow = false;
	blk_u32(b, type);
	blk_u32(b, 0);
}

/* An option whose value is referenced, not copied: it must outlive the write. None if empty. */
static inline void blk_opt_ref(struct blk *b, uint16_t code, const void *val, uint16_t len)
{
	if (!len)
		return;
	blk_u16(b, code);
	blk_u16(b, len);
	blk_add(b, val, len);
	blk_pad(b);
	b->has_opts = true;
}

static inline void blk_opt_u32(struct blk *b, uint16_t code, uint32_t v)
{
	blk_u16(b, code);
	blk_u16(b, 4);
	blk_u32(b, v);
	b->has_opts = true;
}

static inline void blk_opt_u64(struct blk *b, uint16_t code, uint64_t v)
{
	blk_u16(b, code);
	blk_u16(b, 8);
	blk_u64(b, v);
	b->has_opts = true;
}

/* pcapng timestamps are two 32-bit words, high first, even inside options. */
static inline void blk_ts(struct blk *b, uint64_t ts)
{
	blk_u32(b, (uint32_t)(ts >> 32));
	blk_u32(b, (uint32_t)ts);
}

static inline void blk_opt_ts(struct blk *b, uint16_t code, uint64_t ts)
{
	blk_u16(b, code);
	blk_u16(b, 8);
	blk_ts(b, ts);
	b->has_opts = true;
}

/* Terminates the options, appends the trailing length, patches the leading one. */
static inline int blk_end(struct blk *b)
{
	uint32_t total;
	size_t trailer;

	if (b->has_opts) {
		blk_u16(b, PCAPNG_OPT_ENDOFOPT);
		blk_u16(b, 0);
	}
	trailer = b->used;
	blk_u32(b, 0);
	if (b->overflow)
		return -EOVERFLOW;
	if (b->len >= PCAPNG_MAX_BLOCK)
		return -EINVAL;
	total = (uint32_t)b->len;
	memcpy(b->scratch + 4, &total, sizeof(total));
	memcpy(b->scratch + trailer, &total, sizeof(total));
	return 0;
}

#endif
