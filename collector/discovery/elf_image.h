/* Read access to an ELF file's code, version definitions, strings and PLT, for probe placement. */
#ifndef TLSTAP_ELF_IMAGE_H
#define TLSTAP_ELF_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elf_image;

/*
 * 0, or -ENOEXEC when fd is not a whole 64-bit ELF executable or library of
 * this machine, or another negative errno. Reads through fd, which stays
 * the caller's: what is parsed is that open file, whatever its path names
 * later. Sections are read only inside the file's size and up to a cap per
 * section and per file; larger ones are treated as absent.
 */
int elf_image_open_fd(struct elf_image **img, int fd);
/* The same for path, opened here and closed by elf_image_close(). */
int elf_image_open(struct elf_image **img, const char *path);
void elf_image_close(struct elf_image *img);
/* How many sections were not read: too large or not inside the file. */
unsigned int elf_image_refused(const struct elf_image *img);
/* Counts len bytes read outside sections (with elf_image_pread) against the
 * file's budget: 0, or -EFBIG when it would go over. */
int elf_image_charge(struct elf_image *img, uint64_t len);
/* The bytes counted against the budget so far (for tests). */
uint64_t elf_image_charged(const struct elf_image *img);

/* The address of a defined function symbol: 0 or -ENOENT. */
int elf_image_func(struct elf_image *img, const char *name, uint64_t *vaddr);
/* For each names[i] defined as a function: its file offset (what uprobes
 * want), 0 when absent. */
void elf_image_funcs(struct elf_image *img, const char *const *names, size_t n, uint64_t *offsets);
/* The file offset of an address in an executable segment, 0 if none. */
uint64_t elf_image_offset(struct elf_image *img, uint64_t vaddr);

/* Where a segment or a section lies: its address, and its bytes in the file. */
struct elf_segment {
	uint64_t vaddr, offset, filesz;
	uint32_t flags;		/* PF_R, PF_W, PF_X; 0 for a section */
};
/* The n-th PT_LOAD segment whose bytes lie inside the file: 0 or -ENOENT. */
int elf_image_segment(struct elf_image *img, size_t n, struct elf_segment *seg);
/* The file offset of len bytes at vaddr, all in one PT_LOAD segment's
 * bytes in the file (of any kind): 0 or -ENOENT. */
int elf_image_data_offset(struct elf_image *img, uint64_t vaddr, uint64_t len, uint64_t *off);
/* Section name with bytes inside the file: 0 or -ENOENT. */
int elf_image_section(struct elf_image *img, const char *name, struct elf_segment *sec);
/* Exactly len bytes at file offset off: 0, -EINVAL outside the file, or -EIO/-errno. */
int elf_image_pread(struct elf_image *img, uint64_t off, void *buf, size_t len);
/* Reads up to len bytes of code at vaddr; returns how many (may be short). */
int elf_image_read(struct elf_image *img, uint64_t vaddr, uint8_t *buf, size_t len);
/* Whether the file defines symbol version name (.gnu.version_d). */
bool elf_image_has_verdef(struct elf_image *img, const char *name);
/* Copies the first whole string in .rodata that starts with prefix and that
 * accept() takes (NULL: any). */
int elf_image_find_string(struct elf_image *img, const char *prefix, bool (*accept)(const char *s),
			  char *out, size_t outlen);
/* The symbol a PLT/GOT slot at slot_vaddr is relocated to: 0 or -ENOENT. */
int elf_image_slot_symbol(struct elf_image *img, uint64_t slot_vaddr, char *name, size_t len);

#endif
