/* Strict pcapng reader: every length is checked before it is used (files may be hostile). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pcapng_read.h"
#include "pcapng_file.h"
#include "pcapng_format.h"
#include "pcapng_ts.h"

#define IN_BUF_SIZE	(64 * 1024)

struct rd_iface {
	uint16_t linktype;
	struct pcapng_ts_unit unit;	/* if_tsresol, if_tsoffset */
};

struct pcapng_reader {
	struct pcapng_file file;	/* "-": fd 0, which stays open; buf: read-ahead */
	size_t in_pos, in_len;
	bool in_eof;
	uint8_t *blk;			/* the current block, whole */
	size_t blk_cap;
	char *strs;			/* NUL-terminated copies of the current block's strings */
	size_t strs_cap, strs_used;
	uint64_t off;			/* file offset of the next block */
	bool in_section;
	bool be;			/* the section is big-endian */
	struct rd_iface *ifs;
	uint32_t nif, ifs_cap;
	int err;			/* sticky: a stream cannot resync after a bad block */
	char msg[256];
};

/* A walk over the options of one block, in its section's byte order. */
struct opt_it {
	const uint8_t *p;
	size_t len, pos;
	bool be, done;
};

static const uint8_t shb_type_bytes[4] = { 0x0A, 0x0D, 0x0D, 0x0A };
static const uint8_t magic_be[4] = { 0x1A, 0x2B, 0x3C, 0x4D };
static const uint8_t magic_le[4] = { 0x4D, 0x3C, 0x2B, 0x1A };

static uint16_t get16(const uint8_t *p, bool be)
{
	return be ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static uint32_t get32(const uint8_t *p, bool be)
{
	if (be)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint64_t get64(const uint8_t *p, bool be)
{
	return be ? (uint64_t)get32(p, be) << 32 | get32(p + 4, be)
		  : (uint64_t)get32(p + 4, be) << 32 | get32(p, be);
}

/* pcapng timestamps: high 32-bit word first, each in the section's order. */
static uint64_t get_ts(const uint8_t *p, bool be)
{
	return (uint64_t)get32(p, be) << 32 | get32(p + 4, be);
}

__attribute__((format(printf, 4, 5)))
static int fail(struct pcapng_reader *r, int err, uint64_t off, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(r->msg, sizeof(r->msg), "block at offset %llu: ", (unsigned long long)off);
	if (n < 0 || (size_t)n >= sizeof(r->msg))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(r->msg + n, sizeof(r->msg) - n, fmt, ap);
	va_end(ap);
	r->err = err;
	return err;
}

/* Copies up to n bytes; fewer only at end of file. Returns the count or -errno. */
static ssize_t in_read(struct pcapng_reader *r, uint8_t *dst, size_t n)
{
	size_t got = 0, k;
	ssize_t rd;

	while (got < n) {
		if (r->in_pos == r->in_len) {
			if (r->in_eof)
				break;
			rd = read(r->file.fd, r->file.buf, IN_BUF_SIZE);
			if (rd < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			if (rd == 0) {
				r->in_eof = true;
				break;
			}
			r->in_pos = 0;
			r->in_len = (size_t)rd;
		}
		k = r->in_len - r->in_pos;
		if (k > n - got)
			k = n - got;
		memcpy(dst + got, r->file.buf + r->in_pos, k);
		r->in_pos += k;
		got += k;
	}
	return (ssize_t)got;
}

/* Ensures *buf holds n bytes; n is at most PCAPNG_MAX_BLOCK + 1. */
static int reserve(void **buf, size_t *cap, size_t n)
{
	void *p;

	if (n <= *cap)
		return 0;
	p = realloc(*buf, n);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = n;
	return 0;
}

/* 1: *code, *val, *len set; 0: no more options; negative: malformed (r failed). */
static int opt_next(struct pcapng_reader *r, struct opt_it *it, uint64_t off, const char *blk,
		    uint16_t *code, const uint8_t **val, uint16_t *len)
{
	size_t room;

	if (it->done || it->pos == it->len)
		return 0;
	room = it->len - it->pos;
	if (room < 4)
		return fail(r, -EINVAL, off, "%s: truncated option header", blk);
	*code = get16(it->p + it->pos, it->be);
	*len = get16(it->p + it->pos + 2, it->be);
	if (*code == PCAPNG_OPT_ENDOFOPT) {
		/* Bytes after opt_endofopt are ignored, as libpcap does. */
		if (*len)
			return fail(r, -EINVAL, off, "%s: opt_endofopt has length %u", blk, *len);
		it->done = true;
		return 0;
	}
	if ((size_t)*len + pcapng_pad4(*len) > room - 4)
		return fail(r, -EINVAL, off, "%s: option %u of length %u runs past the block end",
			    blk, *code, *len);
	*val = it->p + it->pos + 4;
	it->pos += 4 + (size_t)*len + pcapng_pad4(*len);
	return 1;
}

static void opt_start(struct opt_it *it, const uint8_t *p, size_t len, bool be)
{
	it->p = p;
	it->len = len;
	it->pos = 0;
	it->be = be;
	it->done = false;
}

/* A NUL-terminated copy in the per-block arena, sized to the block in next(). */
static const char *copy_str(struct pcapng_reader *r, const uint8_t *val, uint16_t len)
{
	char *s;

	if ((size_t)len + 1 > r->strs_cap - r->strs_used)
		return NULL;	/* cannot happen: each string has a 4-byte header */
	s = r->strs + r->strs_used;
	memcpy(s, val, len);
	s[len] = '\0';
	r->strs_used += (size_t)len + 1;
	return s;
}

/* opt_comment may repeat; the first one is kept. */
static void opt_comment(struct pcapng_reader *r, struct pcapng_block *b,
			const uint8_t *val, uint16_t len)
{
	if (!b->comment)
		b->comment = copy_str(r, val, len);
}

static int parse_shb(struct pcapng_reader *r, uint64_t off, const uint8_t *body, size_t len,
		     struct pcapng_block *b)
{
	uint16_t major = get16(body + 4, r->be), minor = get16(body + 6, r->be);
	uint16_t code, olen;
	const uint8_t *val;
	struct opt_it it;
	int ret;

	if (major != PCAPNG_VERSION_MAJOR)
		return fail(r, -EINVAL, off, "unsupported pcapng version %u.%u", major, minor);
	/* body: magic, versions, section length (ignored: -1 is common). */
	opt_start(&it, body + 16, len - 16, r->be);
	while ((ret = opt_next(r, &it, off, "section header", &code, &val, &olen)) > 0) {
		if (code == PCAPNG_OPT_COMMENT)
			opt_comment(r, b, val, olen);
	}
	if (ret < 0)
		return ret;
	/* A new section starts with no interfaces. */
	r->nif = 0;
	r->in_section = true;
	b->kind = PCAPNG_SHB;
	return 0;
}

static int grow_ifaces(struct pcapng_reader *r, uint64_t off)
{
	struct rd_iface *n;
	uint32_t cap;

	if (r->nif < r->ifs_cap)
		return 0;
	if (r->nif >= PCAPNG_MAX_INTERFACES)
		return fail(r, -EINVAL, off, "more than %u interfaces in one section",
			    PCAPNG_MAX_INTERFACES);
	cap = r->ifs_cap ? r->ifs_cap * 2 : 8;
	n = realloc(r->ifs, (size_t)cap * sizeof(*n));
	if (!n)
		return fail(r, -ENOMEM, off, "out of memory for interfaces");
	r->ifs = n;
	r->ifs_cap = cap;
	return 0;
}

static int parse_idb(struct pcapng_reader *r, uint64_t off, const uint8_t *body, size_t len,
		     struct pcapng_block *b)
{
	struct rd_iface ifc = { .unit = PCAPNG_TS_UNIT_DEFAULT };
	uint16_t code, olen;
	const uint8_t *val;
	struct opt_it it;
	int ret;

	/* body: linktype, reserved, snaplen (informative only here). */
	ifc.linktype = get16(body, r->be);
	opt_start(&it, body + 8, len - 8, r->be);
	while ((ret = opt_next(r, &it, off, "interface description", &code, &val, &olen)) > 0) {
		switch (code) {
		case PCAPNG_OPT_COMMENT:
			opt_comment(r, b, val, olen);
			break;
		case PCAPNG_IF_NAME:
			if (!b->if_name)
				b->if_name = copy_str(r, val, olen);
			break;
		case PCAPNG_IF_DESCRIPTION:
			if (!b->if_description)
				b->if_description = copy_str(r, val, olen);
			break;
		case PCAPNG_IF_TSRESOL:
			if (olen != 1)
				return fail(r, -EINVAL, off, "if_tsresol has length %u, not 1", olen);
			if (pcapng_ts_resol(&ifc.unit, val[0]))
				return fail(r, -EINVAL, off, "if_tsresol 0x%02x is too fine", val[0]);
			break;
		case PCAPNG_IF_TSOFFSET:
			if (olen != 8)
				return fail(r, -EINVAL, off, "if_tsoffset has length %u, not 8", olen);
			ifc.unit.offset_s = (int64_t)get64(val, r->be);
			break;
		}
	}
	if (ret < 0)
		return ret;
	ret = grow_ifaces(r, off);
	if (ret)
		return ret;
	r->ifs[r->nif] = ifc;
	b->kind = PCAPNG_IDB;
	b->if_id = r->nif++;
	b->linktype = ifc.linktype;
	return 0;
}

/* Checks the interface an EPB or ISB names and converts its timestamp. */
static int block_iface(struct pcapng_reader *r, uint64_t off, const uint8_t *body,
		       struct pcapng_block *b)
{
	uint64_t ts;

	b->if_id = get32(body, r->be);
	if (b->if_id >= r->nif)
		return fail(r, -EINVAL, off, "interface %u does not exist (the section has %u)",
			    b->if_id, r->nif);
	b->linktype = r->ifs[b->if_id].linktype;
	ts = get_ts(body + 4, r->be);
	if (pcapng_ts_to_ns(&r->ifs[b->if_id].unit, ts, &b->ts_ns))
		return fail(r, -EINVAL, off, "timestamp %llu out of range",
			    (unsigned long long)ts);
	return 0;
}

static int parse_epb(struct pcapng_reader *r, uint64_t off, const uint8_t *body, size_t len,
		     struct pcapng_block *b)
{
	size_t room = len - 20, data_end;
	uint16_t code, olen;
	const uint8_t *val;
	struct opt_it it;
	int ret;

	/* body: interface, timestamp (2 words), captured and original lengths. */
	ret = block_iface(r, off, body, b);
	if (ret)
		return ret;
	b->caplen = get32(body + 12, r->be);
	b->origlen = get32(body + 16, r->be);
	if (b->caplen > room)
		return fail(r, -EINVAL, off, "captured length %u exceeds the block's room of %zu",
			    b->caplen, room);
	b->data = body + 20;
	/* room is a multiple of 4, so the padded data fits too. */
	data_end = 20 + (size_t)b->caplen + pcapng_pad4(b->caplen);
	opt_start(&it, body + data_end, len - data_end, r->be);
	while ((ret = opt_next(r, &it, off, "enhanced packet", &code, &val, &olen)) > 0) {
		if (code == PCAPNG_OPT_COMMENT) {
			opt_comment(r, b, val, olen);
		} else if (code == PCAPNG_EPB_FLAGS) {
			if (olen != 4)
				return fail(r, -EINVAL, off, "epb_flags has length %u, not 4", olen);
			b->direction = (int)(get32(val, r->be) & 3);
		}
	}
	if (ret < 0)
		return ret;
	b->kind = PCAPNG_EPB;
	return 0;
}

static int parse_isb(struct pcapng_reader *r, uint64_t off, const uint8_t *body, size_t len,
		     struct pcapng_block *b)
{
	uint16_t code, olen;
	const uint8_t *val;
	uint64_t endtime = 0;
	bool has_end = false;
	struct opt_it it;
	int ret;

	/* body: interface, timestamp (2 words). */
	ret = block_iface(r, off, body, b);
	if (ret)
		return ret;
	opt_start(&it, body + 12, len - 12, r->be);
	while ((ret = opt_next(r, &it, off, "interface statistics", &code, &val, &olen)) > 0) {
		if (code == PCAPNG_OPT_COMMENT) {
			opt_comment(r, b, val, olen);
			continue;
		}
		if (code < PCAPNG_ISB_STARTTIME || code > PCAPNG_ISB_IFDROP)
			continue;
		/* isb_starttime .. isb_ifdrop all hold 8 bytes. */
		if (olen != 8)
			return fail(r, -EINVAL, off, "statistics option %u has length %u, not 8",
				    code, olen);
		if (code == PCAPNG_ISB_ENDTIME) {
			endtime = get_ts(val, r->be);
			has_end = true;
		} else if (code == PCAPNG_ISB_IFDROP) {
			b->ifdrop = get64(val, r->be);
		}
	}
	if (ret < 0)
		return ret;
	if (has_end && pcapng_ts_to_ns(&r->ifs[b->if_id].unit, endtime, &b->ts_ns))
		return fail(r, -EINVAL, off, "isb_endtime %llu out of range",
			    (unsigned long long)endtime);
	b->kind = PCAPNG_ISB;
	return 0;
}

/* The blocks read field by field: the smallest valid length (header, fixed fields, trailer) and the parser of the body. */
static const struct block_kind {
	uint32_t type;
	uint32_t min_len;
	int (*parse)(struct pcapng_reader *r, uint64_t off, const uint8_t *body, size_t len,
		     struct pcapng_block *b);
} block_kinds[] = {
	{ PCAPNG_BT_SHB, 28, parse_shb },
	{ PCAPNG_BT_IDB, 20, parse_idb },
	{ PCAPNG_BT_EPB, 32, parse_epb },
	{ PCAPNG_BT_ISB, 24, parse_isb },
};

/* NULL for a block type that is skipped (kind PCAPNG_OTHER). */
static const struct block_kind *block_kind(uint32_t type)
{
	size_t i;

	for (i = 0; i < sizeof(block_kinds) / sizeof(block_kinds[0]); i++)
		if (block_kinds[i].type == type)
			return &block_kinds[i];
	return NULL;
}

/* Why the first 8 bytes of a file are not a section header. */
static int not_pcapng(struct pcapng_reader *r, const uint8_t *hdr)
{
	uint32_t m = get32(hdr, false);

	if (m == 0xa1b2c3d4 || m == 0xd4c3b2a1 || m == 0xa1b23c4d || m == 0x4d3cb2a1)
		return fail(r, -EINVAL, 0, "a classic pcap file, not pcapng");
	return fail(r, -EINVAL, 0, "not a pcapng file (first block type 0x%08x, "
		    "not a section header)", m);
}

/* Reads the rest of the block whose first have bytes are in hdr; validates its lengths (min: its kind's). */
static int read_block(struct pcapng_reader *r, uint64_t off, const uint8_t *hdr, size_t have,
		      uint32_t type, uint32_t min, uint32_t total)
{
	uint32_t trail;
	ssize_t got;
	int err;

	if (total < PCAPNG_BLOCK_OVERHEAD || total % 4)
		return fail(r, -EINVAL, off, "block length %u is %s", total,
			    total % 4 ? "not a multiple of 4" : "shorter than 12");
	if (total > PCAPNG_MAX_BLOCK)
		return fail(r, -EINVAL, off, "block length %u is over the %u limit",
			    total, PCAPNG_MAX_BLOCK);
	if (total < min)
		return fail(r, -EINVAL, off, "block type 0x%08x of length %u is shorter than %u",
			    type, total, min);
	/* Every string of the block fits in an arena as large as the block. */
	err = reserve((void **)&r->blk, &r->blk_cap, total);
	if (!err)
		err = reserve((void **)&r->strs, &r->strs_cap, total);
	if (err)
		return fail(r, err, off, "out of memory for a block of %u bytes", total);
	memcpy(r->blk, hdr, have);
	got = in_read(r, r->blk + have, total - have);
	if (got < 0)
		return fail(r, (int)got, off, "read error: %s", strerror((int)-got));
	if ((size_t)got < total - have)
		return fail(r, -EINVAL, off, "truncated block: %zu of %u bytes",
			    have + (size_t)got, total);
	trail = get32(r->blk + total - 4, r->be);
	if (trail != total)
		return fail(r, -EINVAL, off, "trailing length %u differs from leading length %u",
			    trail, total);
	return 0;
}

int pcapng_reader_next(struct pcapng_reader *r, struct pcapng_block *b)
{
	const struct block_kind *kind;
	uint64_t off;
	uint8_t hdr[12];
	size_t have = 8;
	uint32_t type, total;
	ssize_t got;
	int err;

	if (!r || !b)
		return -EINVAL;
	if (r->err)
		return r->err;
	memset(b, 0, sizeof(*b));
	r->strs_used = 0;
	off = r->off;

	got = in_read(r, hdr, 8);
	if (got < 0)
		return fail(r, (int)got, off, "read error: %s", strerror((int)-got));
	if (got == 0 && r->in_section)
		return 0;
	if (got == 0)
		return fail(r, -EINVAL, off, "empty file, not pcapng");
	if (got < 8)
		return fail(r, -EINVAL, off, "truncated block header: %zd of 8 bytes", got);

	if (memcmp(hdr, shb_type_bytes, 4) == 0) {
		/* The byte-order magic says how to read even this block's length. */
		got = in_read(r, hdr + 8, 4);
		if (got < 0)
			return fail(r, (int)got, off, "read error: %s", strerror((int)-got));
		if (got < 4)
			return fail(r, -EINVAL, off, "truncated section header");
		if (memcmp(hdr + 8, magic_be, 4) == 0)
			r->be = true;
		else if (memcmp(hdr + 8, magic_le, 4) == 0)
			r->be = false;
		else
			return fail(r, -EINVAL, off, "bad byte-order magic 0x%08x",
				    get32(hdr + 8, false));
		have = 12;
	} else if (!r->in_section) {
		return not_pcapng(r, hdr);
	}
	type = get32(hdr, r->be);
	total = get32(hdr + 4, r->be);
	kind = block_kind(type);
	err = read_block(r, off, hdr, have, type, kind ? kind->min_len : PCAPNG_BLOCK_OVERHEAD, total);
	if (err)
		return err;
	r->off += total;

	/* body: between the 8-byte header and the 4-byte trailer. */
	b->kind = PCAPNG_OTHER;
	if (kind)
		err = kind->parse(r, off, r->blk + 8, total - 12, b);
	if (err) {
		memset(b, 0, sizeof(*b));
		return err;
	}
	return 1;
}

static int open_read(const char *path, int *fd)
{
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	return *fd < 0 ? -errno : 0;
}

int pcapng_reader_open(struct pcapng_reader **rp, const char *path)
{
	struct pcapng_reader *r;
	int err;

	if (!rp)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	err = r ? pcapng_file_open(&r->file, path, STDIN_FILENO, open_read, IN_BUF_SIZE) : -ENOMEM;
	if (err) {
		free(r);
		r = NULL;
	}
	*rp = r;
	return err;
}

const char *pcapng_reader_error(const struct pcapng_reader *r)
{
	return r ? r->msg : "";
}

void pcapng_reader_close(struct pcapng_reader *r)
{
	if (!r)
		return;
	pcapng_file_close(&r->file);
	free(r->blk);
	free(r->strs);
	free(r->ifs);
	free(r);
}
