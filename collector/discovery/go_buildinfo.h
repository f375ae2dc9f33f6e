/* The Go release that built an executable, from its build information blob. */
#ifndef TLSTAP_GO_BUILDINFO_H
#define TLSTAP_GO_BUILDINFO_H

#include <stddef.h>
#include "elf_image.h"

/*
 * Copies the Go version string ("go1.19.8", "devel go1.21-..."; cut to
 * outlen - 1 bytes) from img's build information: 0, or -ENOENT when there
 * is none or it cannot be read (bad pointers, an unrelocated old PIE).
 */
int go_buildinfo_version(struct elf_image *img, char *out, size_t outlen);
/* The release line in a version string: 0 and *major, *minor, or -ENOENT. */
int go_version_parse(const char *version, int *major, int *minor);

#endif
