/* libFuzzer target: hostile ELF files through the symbol lookup. */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include "elf_syms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "SSL_read", "SSL_write", "SSL_read_ex", "SSL_write_ex" };
	uint64_t offs[4];
	char path[64];
	int fd = memfd_create("fuzz-elf", MFD_CLOEXEC);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		elf_find_funcs(path, names, 4, offs);
	}
	close(fd);
	return 0;
}
