/* Reads the Go version from an executable's build information, bounded and checked. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include "go_buildinfo.h"

/*
 * The layout relied on (Go's debug/buildinfo reads it, cmd/link writes it):
 * a 32-byte header, 16-aligned, in section .go.buildinfo (or, when section
 * headers are gone, near the start of the first writable segment, where the
 * linker puts it): the 14-byte magic "\xff Go buildinf:", the pointer size,
 * and a flags byte (bit 0: big-endian; bit 1: strings inline, Go 1.18+).
 *   Go 1.18+: right after the header, the version string then the module
 *             information, each as an unsigned varint length and its bytes.
 *   Before:   at offset 16, the address of the Go string (data pointer and
 *             length words) runtime.buildVersion; in an old PIE that
 *             address may be left for the dynamic linker to fill: then the
 *             version is unknown.
 */
#define MAGIC		"\xff Go buildinf:"
#define MAGIC_LEN	14
#define HDR_LEN		32
#define FLAG_BIGENDIAN	1
#define FLAG_INLINE	2
#define ALIGN		16
/* What Go's own reader searches for the header without sections. */
#define SCAN_LEN	(64u << 10)
#define SCAN_SEGMENTS	16
/* Version strings are short ("go1.19.8", "devel go1.21-1b0b2d4 Tue ..."). */
#define VERSION_MAX	128

/* The header's file offset: in its section, or by its magic near the start
 * of a writable segment (a PIE has .data.rel.ro's before the blob's). */
static int find_header(struct elf_image *img, uint64_t *off)
{
	struct elf_segment seg;
	uint8_t *buf;
	uint64_t n;
	size_t i, k;
	int err = -ENOENT;

	if (!elf_image_section(img, ".go.buildinfo", &seg)) {
		*off = seg.offset;
		return 0;
	}
	buf = malloc(SCAN_LEN);
	if (!buf)
		return -ENOMEM;
	for (i = 0; err && i < SCAN_SEGMENTS && !elf_image_segment(img, i, &seg); i++) {
		n = seg.filesz < SCAN_LEN ? seg.filesz : SCAN_LEN;
		if (!(seg.flags & PF_W) || elf_image_pread(img, seg.offset, buf, (size_t)n))
			continue;
		/* Aligned in memory; vaddr and offset agree modulo the page. */
		for (k = (ALIGN - seg.vaddr % ALIGN) % ALIGN; err && k + HDR_LEN <= n; k += ALIGN) {
			if (!memcmp(buf + k, MAGIC, MAGIC_LEN)) {
				*off = seg.offset + k;
				err = 0;
			}
		}
	}
	free(buf);
	return err;
}

/* An unsigned varint of at most 9 bytes from p (n bytes): its length, or 0. */
static size_t uvarint(const uint8_t *p, size_t n, uint64_t *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < n && i < 9; i++) {
		*v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80))
			return i + 1;
	}
	return 0;
}

/* Go 1.18+: the version string inline after the header at off. */
static int inline_version(struct elf_image *img, uint64_t off, char *out, size_t outlen)
{
	uint8_t buf[10 + VERSION_MAX];
	uint64_t len;
	size_t i, n, avail = sizeof(buf);

	/* The blob may end before a whole buffer: try shorter reads then. */
	while (avail > 1 && elf_image_pread(img, off + HDR_LEN, buf, avail))
		avail /= 2;
	if (avail <= 1 || !(n = uvarint(buf, avail, &len)) || !len || len > avail - n)
		return -ENOENT;
	for (i = 0; i < len && i + 1 < outlen; i++)
		out[i] = (char)buf[n + i];
	out[i] = '\0';
	return 0;
}

/* Before 1.18: the Go string whose header is at address at. */
static int pointed_version(struct elf_image *img, uint64_t at, char *out, size_t outlen)
{
	uint8_t hdr[16], buf[VERSION_MAX];
	uint64_t data, len, off;

	if (elf_image_data_offset(img, at, sizeof(hdr), &off) ||
	    elf_image_pread(img, off, hdr, sizeof(hdr)))
		return -ENOENT;
	memcpy(&data, hdr, 8);
	memcpy(&len, hdr + 8, 8);
	if (!len || len > sizeof(buf) || elf_image_data_offset(img, data, len, &off) ||
	    elf_image_pread(img, off, buf, (size_t)len))
		return -ENOENT;
	if (len >= outlen)
		len = outlen - 1;
	memcpy(out, buf, (size_t)len);
	out[len] = '\0';
	return 0;
}

int go_buildinfo_version(struct elf_image *img, char *out, size_t outlen)
{
	uint8_t hdr[HDR_LEN];
	uint64_t off, at;
	size_t i;
	int err;

	if (!outlen)
		return -ENOENT;
	out[0] = '\0';
	if (find_header(img, &off) || elf_image_pread(img, off, hdr, sizeof(hdr)) ||
	    memcmp(hdr, MAGIC, MAGIC_LEN) || hdr[MAGIC_LEN] != 8 || (hdr[MAGIC_LEN + 1] & FLAG_BIGENDIAN))
		return -ENOENT;
	if (hdr[MAGIC_LEN + 1] & FLAG_INLINE) {
		err = inline_version(img, off, out, outlen);
	} else {
		memcpy(&at, hdr + 16, 8);
		err = pointed_version(img, at, out, outlen);
	}
	/* Printable ASCII only: the caller prints it. */
	for (i = 0; !err && out[i]; i++) {
		if (out[i] < 0x20 || out[i] > 0x7e)
			err = -ENOENT;
	}
	if (err)
		out[0] = '\0';
	return err;
}

/* A decimal number of at most 4 digits at *p, which moves past it: -1 if none. */
static int number(const char **p)
{
	int v = 0, n = 0;

	while (**p >= '0' && **p <= '9' && n < 4) {
		v = v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	return n ? v : -1;
}

int go_version_parse(const char *version, int *major, int *minor)
{
	const char *p = strstr(version, "go");
	int ma, mi;

	if (!p)
		return -ENOENT;
	p += 2;
	ma = number(&p);
	if (ma < 0 || *p++ != '.')
		return -ENOENT;
	mi = number(&p);
	if (mi < 0)
		return -ENOENT;
	*major = ma;
	*minor = mi;
	return 0;
}
