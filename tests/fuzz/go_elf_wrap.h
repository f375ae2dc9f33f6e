/*
 * A small Go executable made of given parts, for fuzz_go_elf and
 * test_go_elf. The input is:
 *   byte 0:     bit 0: no section headers (found by magic); bit 1: PIE
 *   bytes 1-4:  two little-endian u16: the table's and the build
 *               information's lengths
 *   the rest:   the table, the build information, then the code, each
 *               at its fixed place (GO_WRAP_PCLN, GO_WRAP_INFO, GO_WRAP_CODE
 *               from GO_WRAP_BASE), which the seeds in testdata/go/ (made by
 *               tests/fuzz/go_elf_seeds.py) rely on
 */
#ifndef TLSTAP_GO_ELF_WRAP_H
#define TLSTAP_GO_ELF_WRAP_H

#include <elf.h>
#include <stdint.h>
#include <string.h>

#define GO_WRAP_BASE		0x400000u
#define GO_WRAP_CODE		0x1000u
#define GO_WRAP_PCLN		0x9000u
#define GO_WRAP_INFO		0x11000u
#define GO_WRAP_STR		0x12000u
#define GO_WRAP_SH		0x12100u
#define GO_WRAP_PART_MAX	0x8000u
#define GO_WRAP_INFO_MAX	0x1000u
#define GO_WRAP_NSECT		5
#define GO_WRAP_LEN		(GO_WRAP_SH + GO_WRAP_NSECT * sizeof(Elf64_Shdr))

static const char go_wrap_shstr[] = "\0.text\0.gopclntab\0.go.buildinfo\0.shstrtab";

static inline Elf64_Shdr go_wrap_shdr(Elf64_Word name, Elf64_Word type, uint64_t off,
				      uint64_t len, uint64_t flags)
{
	return (Elf64_Shdr){ .sh_name = name, .sh_type = type, .sh_flags = flags,
			     .sh_addr = flags ? GO_WRAP_BASE + off : 0, .sh_offset = off,
			     .sh_size = len, .sh_addralign = 16 };
}

static inline Elf64_Phdr go_wrap_load(uint64_t off, uint64_t len, Elf64_Word flags)
{
	return (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = flags, .p_offset = off,
			     .p_vaddr = GO_WRAP_BASE + off, .p_paddr = GO_WRAP_BASE + off,
			     .p_filesz = len, .p_memsz = len, .p_align = 0x1000 };
}

/* The executable the parts describe, in f (GO_WRAP_LEN bytes); 0, or -1 for no input. */
static inline int go_wrap(uint8_t *f, const uint8_t *data, size_t size)
{
	Elf64_Ehdr eh = { .e_version = EV_CURRENT, .e_phoff = sizeof(eh), .e_ehsize = sizeof(eh),
			  .e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 3,
			  .e_shentsize = sizeof(Elf64_Shdr), .e_machine = EM_X86_64 };
	Elf64_Phdr ph[3];
	Elf64_Shdr sh[GO_WRAP_NSECT] = {};
	size_t plen, ilen, clen;

	if (size < 5)
		return -1;
	plen = data[1] | data[2] << 8;
	ilen = data[3] | data[4] << 8;
	if (plen > GO_WRAP_PART_MAX || ilen > GO_WRAP_INFO_MAX || size - 5 < plen + ilen ||
	    size - 5 - plen - ilen > GO_WRAP_PART_MAX)
		return -1;
	clen = size - 5 - plen - ilen;
	memset(f, 0, GO_WRAP_LEN);
	memcpy(f + GO_WRAP_PCLN, data + 5, plen);
	memcpy(f + GO_WRAP_INFO, data + 5 + plen, ilen);
	memcpy(f + GO_WRAP_CODE, data + 5 + plen + ilen, clen);
	memcpy(f + GO_WRAP_STR, go_wrap_shstr, sizeof(go_wrap_shstr));
	/* The ELF header is in the first segment, as in Go's own layout. */
	ph[0] = go_wrap_load(0, GO_WRAP_CODE + clen, PF_R | PF_X);
	ph[1] = go_wrap_load(GO_WRAP_PCLN, plen, PF_R);
	ph[2] = go_wrap_load(GO_WRAP_INFO, ilen, PF_R | PF_W);
	sh[1] = go_wrap_shdr(1, SHT_PROGBITS, GO_WRAP_CODE, clen, SHF_ALLOC | SHF_EXECINSTR);
	sh[2] = go_wrap_shdr(7, SHT_PROGBITS, GO_WRAP_PCLN, plen, SHF_ALLOC);
	sh[3] = go_wrap_shdr(18, SHT_PROGBITS, GO_WRAP_INFO, ilen, SHF_ALLOC | SHF_WRITE);
	sh[4] = go_wrap_shdr(32, SHT_STRTAB, GO_WRAP_STR, sizeof(go_wrap_shstr), 0);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = data[0] & 2 ? ET_DYN : ET_EXEC;
	if (!(data[0] & 1)) {
		eh.e_shoff = GO_WRAP_SH;
		eh.e_shnum = GO_WRAP_NSECT;
		eh.e_shstrndx = 4;
	}
	memcpy(f, &eh, sizeof(eh));
	memcpy(f + sizeof(eh), ph, sizeof(ph));
	memcpy(f + GO_WRAP_SH, sh, sizeof(sh));
	return 0;
}

#endif
