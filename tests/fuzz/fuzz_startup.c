/*
 * libFuzzer target: what start-up does with one file (targets_add_file: open
 * once, ELF symbols, version detection, probe placement), without attaching.
 *
 * An input that starts like an ELF file is the file. Any other input (such
 * as the recorded function bytes in testdata/placement) is code, wrapped in a
 * small valid ELF library so that placement's decoders see fuzzed code:
 *   byte 0:     bit 3: GnuTLS symbols, else OpenSSL; bits 0-2: where the
 *               version comes from (none, a symbol version, a .rodata string)
 *   bytes 1-8:  four little-endian u16: the functions' offsets in the code
 *   bytes 9-10: u16: a PLT slot's offset, relocated to gnutls_record_send2
 *   the rest:   the code, loaded at CODE_VADDR
 */
#ifndef _GNU_SOURCE
#endif
#include <elf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "targets.h"

#if defined(__x86_64__)
#define NATIVE_MACHINE	EM_X86_64
#elif defined(__aarch64__)
#define NATIVE_MACHINE	EM_AARCH64
#endif

#define HDR		11
#define MAX_CODE	(1 << 16)
#define NFUNCS		4
#define NSECT		8	/* NULL .dynstr .dynsym .gnu.version_d .rela.plt .rodata .text .shstrtab */

static const char *const ossl_names[NFUNCS] = { "SSL_read", "SSL_read_ex", "SSL_write", "SSL_write_ex" };
static const char *const gnutls_names[NFUNCS] = { "gnutls_record_recv", "gnutls_record_send",
						  "gnutls_record_send2", "gnutls_record_recv_seq" };
static const char *const verdefs[8] = { NULL, "OPENSSL_1_1_1", "OPENSSL_3.0.0", "OPENSSL_3.2.0",
					"OPENSSL_3.3.0", NULL, NULL, NULL };
static const char *const rodata[8] = { NULL, NULL, NULL, NULL, NULL, "OpenSSL 1.1.1w  11 Sep 2023",
				       "OpenSSL 3.0.13 30 Jan 2024", "OpenSSL 3.4.0 22 Oct 2024" };

/* The image under construction: sections appended in order, 16-aligned. */
struct img {
	uint8_t buf[MAX_CODE + 8192];
	size_t len;
	Elf64_Shdr sh[NSECT];
};

static size_t put(struct img *m, const void *p, size_t n)
{
	size_t at = (m->len + 15) & ~(size_t)15;

	memset(m->buf + m->len, 0, at - m->len);
	memcpy(m->buf + at, p, n);
	m->len = at + n;
	return at;
}

static const char shstr[] = "\0.dynstr\0.dynsym\0.gnu.version_d\0.rela.plt\0.rodata\0.text\0.shstrtab";

/* Where a section's name starts in shstr. */
static Elf64_Word shname(const char *name)
{
	const char *p = memmem(shstr, sizeof(shstr), name, strlen(name) + 1);

	if (!p)
		abort();
	return (Elf64_Word)(p - shstr);
}

static void section(struct img *m, int i, const char *name, Elf64_Word type, const void *p, size_t n,
		    Elf64_Word link, Elf64_Xword entsize)
{
	size_t at = put(m, p, n);

	/* sh_info: the first global symbol; the number of version definitions. */
	m->sh[i] = (Elf64_Shdr){ .sh_name = shname(name), .sh_type = type, .sh_flags = SHF_ALLOC,
				 .sh_addr = at, .sh_offset = at, .sh_size = n, .sh_link = link,
				 .sh_info = type == SHT_DYNSYM || type == SHT_GNU_verdef ? 1 : 0,
				 .sh_addralign = 16, .sh_entsize = entsize };
}

static uint16_t u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* A library with the chosen functions over the given code (see the top). */
static size_t wrap_code(struct img *m, const uint8_t *data, size_t size)
{
	const char *const *names = data[0] & 8 ? gnutls_names : ossl_names;
	const char *vd = verdefs[data[0] & 7], *ro = rodata[data[0] & 7];
	char dynstr[256];
	Elf64_Sym syms[NFUNCS + 1];
	struct { Elf64_Verdef d; Elf64_Verdaux a; } verdef;
	Elf64_Rela rela;
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	size_t code_len = size - HDR, code_at, slen = 1, i;
	uint32_t name_off[NFUNCS], vd_off = 0;

	memset(m, 0, sizeof(*m));
	m->len = sizeof(eh) + sizeof(ph);
	dynstr[0] = '\0';
	for (i = 0; i < NFUNCS; i++) {
		name_off[i] = (uint32_t)slen;
		slen += (size_t)sprintf(dynstr + slen, "%s", names[i]) + 1;
	}
	if (vd) {
		vd_off = (uint32_t)slen;
		slen += (size_t)sprintf(dynstr + slen, "%s", vd) + 1;
	}
	/* Offsets of the sections are known only as they are placed: code last. */
	section(m, 1, ".dynstr", SHT_STRTAB, dynstr, slen, 0, 0);
	code_at = (m->len + 64 + sizeof(syms) + sizeof(verdef) + sizeof(rela) + 64 + 4095) & ~4095ul;
	memset(syms, 0, sizeof(syms));
	for (i = 0; i < NFUNCS; i++)
		syms[i + 1] = (Elf64_Sym){ .st_name = name_off[i],
					   .st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC),
					   .st_shndx = 6,
					   .st_value = code_at + u16(data + 1 + 2 * i) % code_len,
					   .st_size = 16 };
	section(m, 2, ".dynsym", SHT_DYNSYM, syms, sizeof(syms), 1, sizeof(Elf64_Sym));
	verdef.d = (Elf64_Verdef){ .vd_version = 1, .vd_ndx = 2, .vd_cnt = 1,
				   .vd_aux = sizeof(verdef.d) };
	verdef.a = (Elf64_Verdaux){ .vda_name = vd_off };
	section(m, 3, ".gnu.version_d", SHT_GNU_verdef, &verdef, vd ? sizeof(verdef) : 0, 1, 0);
	rela = (Elf64_Rela){ .r_offset = code_at + u16(data + 9) % code_len,
			     .r_info = ELF64_R_INFO(3, R_X86_64_JUMP_SLOT) };
	section(m, 4, ".rela.plt", SHT_RELA, &rela, sizeof(rela), 2, sizeof(rela));
	section(m, 5, ".rodata", SHT_PROGBITS, ro ? ro : "", ro ? strlen(ro) + 1 : 0, 0, 0);
	memset(m->buf + m->len, 0, code_at - m->len);
	m->len = code_at;
	section(m, 6, ".text", SHT_PROGBITS, data + HDR, code_len, 0, 0);
	m->sh[6].sh_flags |= SHF_EXECINSTR;
	section(m, 7, ".shstrtab", SHT_STRTAB, shstr, sizeof(shstr), 0, 0);
	m->sh[7].sh_flags = 0;

	ph = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_filesz = m->len,
			   .p_memsz = m->len, .p_align = 4096 };
	eh = (Elf64_Ehdr){ .e_type = ET_DYN, .e_machine = NATIVE_MACHINE, .e_version = EV_CURRENT,
			   .e_phoff = sizeof(eh), .e_ehsize = sizeof(eh), .e_phentsize = sizeof(ph),
			   .e_phnum = 1, .e_shentsize = sizeof(Elf64_Shdr), .e_shnum = NSECT,
			   .e_shstrndx = 7 };
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_shoff = put(m, m->sh, sizeof(m->sh));
	memcpy(m->buf, &eh, sizeof(eh));
	memcpy(m->buf + sizeof(eh), &ph, sizeof(ph));
	return m->len;
}

static void add_one(int fd)
{
	struct target_list tl;
	char path[64];
	size_t i;
	int mode;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	for (mode = PROBE_AUTO; mode <= PROBE_EXPORTED; mode++) {
		memset(&tl, 0, sizeof(tl));
		tl.mode = mode;
		targets_add_file(&tl, path, "fuzz", true);
		/* What --list-targets would print must be strings. */
		for (i = 0; i < tl.n; i++)
			if (strnlen(tl.v[i].pts.version, sizeof(tl.v[i].pts.version)) == sizeof(tl.v[i].pts.version) ||
			    strnlen(tl.v[i].pts.placement, sizeof(tl.v[i].pts.placement)) ==
				    sizeof(tl.v[i].pts.placement))
				abort();
		targets_free(&tl);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct img m;
	const void *file = data;
	size_t len = size;
	int fd, check;

	if (size >= SELFMAG && !memcmp(data, ELFMAG, SELFMAG)) {
		/* the file itself */
	} else if (size > HDR && size - HDR <= MAX_CODE) {
		len = wrap_code(&m, data, size);
		file = m.buf;
	} else {
		return 0;
	}
	fd = memfd_create("fuzz-startup", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, file, len) == (ssize_t)len)
		add_one(fd);
	close(fd);
	/* Every descriptor the targets held is closed again: the next one is fd's. */
	check = memfd_create("fuzz-startup-check", MFD_CLOEXEC);
	if (check != fd)
		abort();
	close(check);
	return 0;
}
