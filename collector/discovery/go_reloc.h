/* The load-time value of a pointer word of a PIE, from its dynamic relocation. */
#ifndef TLSTAP_GO_RELOC_H
#define TLSTAP_GO_RELOC_H

#include <stdint.h>
#include "elf_image.h"

/*
 * The addend of the relative relocation (R_X86_64_RELATIVE) the dynamic
 * linker applies to the 8-byte word at vaddr: what the word holds once
 * loaded, less the load base. 0; -ENOENT when no relocation names the word;
 * -EINVAL when another kind does or the dynamic section is malformed;
 * -EFBIG when the relocations are more than tlstap reads (the reads count
 * against the image's budget).
 */
int go_reloc_addend(struct elf_image *img, uint64_t vaddr, uint64_t *addend);

#endif
