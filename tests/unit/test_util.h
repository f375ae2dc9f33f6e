/* Helpers shared by unit tests: a scratch directory for the files a test writes, removed at the end. */
#ifndef TLSTAP_TEST_UTIL_H
#define TLSTAP_TEST_UTIL_H

#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* A whole file in memory (one byte more, for a NUL), or NULL; *len: its length. */
static inline uint8_t *test_slurp(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf = NULL;
	ssize_t n = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0 && !fstat(fd, &st) && (buf = malloc((size_t)st.st_size + 1)))
		n = read(fd, buf, (size_t)st.st_size);
	if (fd >= 0)
		close(fd);
	if (!buf || n != st.st_size) {
		free(buf);
		return NULL;
	}
	*len = (size_t)st.st_size;
	return buf;
}

/* The scratch directory, once test_tmpdir_create has made it. */
static char tmpdir[64];

/* name in the scratch directory; the last four results stay valid. */
static inline const char *tmp_path(const char *name)
{
	static char buf[4][128];
	static int next;
	char *out = buf[next++ % 4];

	snprintf(out, sizeof(buf[0]), "%s/%s", tmpdir, name);
	return out;
}

/* A new /tmp/tlstap-test-TAG-XXXXXX; 0 or -1 (a cmocka group setup's answer). */
static inline int test_tmpdir_create(const char *tag)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tlstap-test-%s-XXXXXX", tag);
	return mkdtemp(tmpdir) ? 0 : -1;
}

static inline int test_tmpdir_rm_entry(const char *path, const struct stat *st, int flag,
				       struct FTW *ftw)
{
	return remove(path);
}

/* A cmocka group teardown: the scratch directory and everything in it go. */
static inline int test_tmpdir_remove(void **state)
{
	return nftw(tmpdir, test_tmpdir_rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

#endif
