/*
 * libFuzzer target: hostile Go executables through go_elf_inspect() (the
 * function table, the build information, the RET walk). An input that
 * starts like an ELF file is the file; any other is the parts of a Go
 * program, placed in a small valid executable (go_elf_wrap.h).
 */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "go_elf.h"
#include "go_elf_wrap.h"

/* The first bytes of both forms of Go's stack check: cmp rsp,[r14+16] or lea r12,[rsp-N]. */
static int stack_check_start(const uint8_t *p)
{
	return !memcmp(p, "\x49\x3b\x66\x10", 4) || !memcmp(p, "\x4c\x8d", 2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t built[GO_WRAP_LEN];
	const uint8_t *file = data;
	struct elf_image *img;
	struct go_info gi;
	char why[128];
	size_t len = size;
	int fd, err;

	if (size < SELFMAG || memcmp(data, ELFMAG, SELFMAG)) {
		if (go_wrap(built, data, size))
			return 0;
		file = built;
		len = GO_WRAP_LEN;
	}
	fd = memfd_create("fuzz-go-elf", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, file, len) == (ssize_t)len && !elf_image_open_fd(&img, fd)) {
		err = go_elf_inspect(img, &gi, why, sizeof(why));
		/* What the caller prints must be strings; offsets inside the file. */
		if (strnlen(why, sizeof(why)) == sizeof(why) ||
		    strnlen(gi.version, sizeof(gi.version)) == sizeof(gi.version))
			__builtin_trap();
		if (!err && (gi.read.nrets <= 0 || gi.read.nrets > GO_MAX_RETS ||
			     gi.read.entry + 4 > len || gi.write.entry + 4 > len))
			__builtin_trap();
		/* An entry taken is one with Go's stack check first (cmp or lea). */
		if (!err && (!stack_check_start(file + gi.read.entry) ||
			     !stack_check_start(file + gi.write.entry)))
			__builtin_trap();
		elf_image_close(img);
	}
	close(fd);
	return 0;
}
