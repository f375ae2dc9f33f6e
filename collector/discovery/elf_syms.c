/* Function offsets of an ELF file by name, for callers that hold no open image. */
#include <stdint.h>
#include "elf_image.h"
#include "elf_syms.h"

int elf_find_funcs(const char *path, const char *const *names, size_t n, uint64_t *offsets)
{
	struct elf_image *img;
	size_t i;
	int err;

	for (i = 0; i < n; i++)
		offsets[i] = 0;
	err = elf_image_open(&img, path);
	if (err)
		return err;
	elf_image_funcs(img, names, n, offsets);
	elf_image_close(img);
	return 0;
}
