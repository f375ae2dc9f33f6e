/* Opening the file of a pcapng writer or reader: "-", or a path (safely, for a capture), and its buffer. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pcapng.h"
#include "pcapng_file.h"

int pcapng_file_open(struct pcapng_file *f, const char *path, int std_fd,
		     int (*open_path)(const char *path, int *fd), size_t buf_size)
{
	int err = 0;

	memset(f, 0, sizeof(*f));
	if (!path || !*path)
		return -EINVAL;
	f->buf = buf_size ? malloc(buf_size) : NULL;
	if (buf_size && !f->buf)
		return -ENOMEM;
	if (strcmp(path, "-"))
		err = open_path(path, &f->fd);
	else
		f->fd = std_fd;
	if (err) {
		free(f->buf);
		f->buf = NULL;
		return err;
	}
	f->own_fd = strcmp(path, "-");
	return 0;
}

int pcapng_file_close(struct pcapng_file *f)
{
	int err = f->own_fd && close(f->fd) ? -errno : 0;

	free(f->buf);
	memset(f, 0, sizeof(*f));
	return err;
}

/*
 * An existing name, reused only if it is our own plain file. O_NONBLOCK: a
 * FIFO without a reader fails at once (ENXIO) instead of hanging; O_NOCTTY:
 * a terminal never becomes ours. The checks are made on the descriptor, so
 * whatever the name points to by now is not what gets truncated.
 */
static int reuse_existing(const char *path, int *fdp)
{
	struct stat st;
	int fd, err = 0;

	fd = open(path, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return errno == EPERM ? -EACCES : -errno;	/* -EPERM is kept for the owner */
	if (fstat(fd, &st))
		err = -errno;
	else if (!S_ISREG(st.st_mode))
		err = -ENXIO;
	else if (st.st_uid != geteuid())
		err = -EPERM;
	else if (st.st_nlink != 1)
		err = -EMLINK;
	/* Narrowed before any byte of the capture goes in. */
	else if ((st.st_mode & 07177) && fchmod(fd, st.st_mode & 0600))
		err = -errno;
	else if (ftruncate(fd, 0) || fcntl(fd, F_SETFL, 0))
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	*fdp = fd;
	return 0;
}

/* A new name is created exclusively, mode 0600 from the start (the umask can only narrow it). */
int pcapng_file_create(const char *path, int *fdp)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd >= 0) {
		*fdp = fd;
		return 0;
	}
	if (errno != EEXIST)
		return -errno;
	return reuse_existing(path, fdp);
}

const char *pcapng_open_strerror(int err)
{
	switch (err) {
	case -ELOOP:
		return "it is a symbolic link (tlstap never writes through one)";
	case -ENXIO:
		return "it is not a regular file (to write to a pipe or FIFO, use -w - and redirect)";
	case -EPERM:
		return "it belongs to another user (tlstap only reuses its own files)";
	case -EMLINK:
		return "it has more than one hard link (tlstap only reuses files with one)";
	default:
		return strerror(-err);
	}
}
