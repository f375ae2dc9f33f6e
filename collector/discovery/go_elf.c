/* Analyses a Go executable for tlstap's probes: its release and ABI, and where crypto/tls's Read and Write start and return. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include <capstone/capstone.h>
#include "go_buildinfo.h"
#include "go_elf.h"
#include "go_pclntab.h"

/* Read is about 1 KiB of code in Go 1.19, Write 2 KiB; nothing real nears this. */
#define FUNC_MAX	(64u << 10)

static const char conn_read[] = "crypto/tls.(*Conn).Read";
static const char conn_write[] = "crypto/tls.(*Conn).Write";
/* The register ABI's argument spill helper: in the runtime from Go 1.17 (amd64). */
static const char spill_args[] = "runtime.spillArgs";

/* Returns err, with what went wrong in why. */
__attribute__((format(printf, 4, 5)))
static int say(char *why, size_t whylen, int err, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return err;
}

/*
 * The release from the build information, and whether it passes arguments
 * and results in registers, which the probes read: Go 1.17 and later on
 * amd64. Without build information the table's layout tells the release
 * line, and for 1.16/1.17 the register ABI's own runtime helper (spill: the
 * table has it) tells them apart. A program built with GOEXPERIMENT=noregabi says so in its version.
 */
static int check_abi(struct elf_image *img, const struct go_pclntab *t, bool spill,
		     struct go_info *gi, char *why, size_t whylen)
{
	go_buildinfo_version(img, gi->version, sizeof(gi->version));
	if (go_version_parse(gi->version, &gi->major, &gi->minor))
		gi->major = gi->minor = 0;
	if (t->layout == GO_PCLN_12)
		gi->regabi = false;
	else if (gi->major)
		gi->regabi = gi->major > 1 || gi->minor >= 17;
	else
		gi->regabi = t->layout >= GO_PCLN_118 || spill;
	if (strstr(gi->version, "noregabi"))
		gi->regabi = false;
	if (!gi->regabi)
		return say(why, whylen, -ENOTSUP,
			   "%s passes arguments on the stack (Go's ABI before 1.17): not supported",
			   gi->version[0] ? gi->version : "this Go program");
#if !defined(__x86_64__)
	return say(why, whylen, -ENOTSUP, "Go programs are probed on amd64 only");
#endif
	return 0;
}

/*
 * Function fn as the function table gave it. When .symtab has it too, the
 * two must agree (a mismatch means a corrupt or forged file); *in_symtab
 * says it had.
 */
static int check_func(struct elf_image *img, const struct go_pcln_func *fn, bool *in_symtab,
		      char *why, size_t whylen)
{
	uint64_t sym;

	if (fn->err == -EINVAL)
		return say(why, whylen, fn->err, "%s: malformed function table entry", fn->name);
	if (fn->err)
		return fn->err;
	*in_symtab = !elf_image_func(img, fn->name, &sym);
	if (*in_symtab && sym != fn->entry)
		return say(why, whylen, -EINVAL, "%s: the function table and .symtab disagree", fn->name);
	return 0;
}

/*
 * Whether code (len bytes) begins with the stack bound check the Go
 * compiler puts first in every function that may grow its stack, under the
 * register ABI (g in R14; cmd/internal/obj/x86's stacksplit, Go 1.17 on):
 *   cmp rsp, [r14+16]                        frames up to 128 bytes;
 *   lea r12, [rsp-N]; cmp r12, [r14+16]      up to 4 KiB (N: 8 or 32 bits).
 * Read and Write are such functions, with such frames: an entry found
 * elsewhere is a table read wrong (a text start guessed, a forged file),
 * and a uprobe there could land inside an instruction.
 */
static uint64_t stack_check_len(const uint8_t *code, uint64_t len)
{
	static const uint8_t cmp_rsp[] = { 0x49, 0x3b, 0x66, 0x10 };
	static const uint8_t cmp_r12[] = { 0x4d, 0x3b, 0x66, 0x10 };
	static const uint8_t lea8[] = { 0x4c, 0x8d, 0x64, 0x24 };
	static const uint8_t lea32[] = { 0x4c, 0x8d, 0xa4, 0x24 };

	if (len >= 4 && !memcmp(code, cmp_rsp, 4))
		return 4;
	if (len >= 9 && !memcmp(code, lea8, 4) && !memcmp(code + 5, cmp_r12, 4))
		return 9;
	return len >= 12 && !memcmp(code, lea32, 4) && !memcmp(code + 8, cmp_r12, 4) ? 12 : 0;
}

/*
 * Where the entry probe goes: the conditional jump to morestack right after
 * the stack check (jbe rel8 or rel32), when it is there. The kernel
 * emulates a jump (under 1 µs) but single-steps the check itself (about
 * 9 µs); the registers and RSP there are still the entry's, and a call
 * that grows its stack comes back through it like through the entry.
 */
static uint64_t probe_point(const uint8_t *code, uint64_t len, uint64_t check)
{
	if (check + 2 <= len && code[check] == 0x76)
		return check;
	if (check + 6 <= len && code[check] == 0x0f && code[check + 1] == 0x86)
		return check;
	return 0;
}

/*
 * Decodes [entry, end) instruction by instruction from the entry, so that
 * only real instruction boundaries count, and records every RET (C3, and C2
 * with its immediate) as a file offset in fn. The code must lie in one
 * executable segment and decode to its end (Go puts no data in code and
 * pads between functions with INT3).
 */
static int find_rets(struct elf_image *img, const char *name, uint64_t entry, uint64_t end,
		     struct go_func *fn, char *why, size_t whylen)
{
	uint64_t len = end - entry, addr = entry;
	const uint8_t *p;
	uint8_t *code = NULL;
	uint64_t check;
	cs_insn *insn = NULL;
	size_t left;
	csh h = 0;
	int err = 0;

	fn->nrets = 0;
	fn->entry = elf_image_offset(img, entry);
	if (len > FUNC_MAX || !fn->entry || elf_image_offset(img, end - 1) != fn->entry + len - 1)
		return say(why, whylen, -EINVAL, "%s: %llu bytes at %#llx, not inside the code", name,
			   (unsigned long long)len, (unsigned long long)entry);
	code = malloc(len);
	if (!code)
		return -ENOMEM;
	if (elf_image_read(img, entry, code, len) != (int)len) {
		err = say(why, whylen, -EINVAL, "%s: cannot read its code", name);
		goto out;
	}
	check = stack_check_len(code, len);
	if (!check) {
		err = say(why, whylen, -EINVAL, "%s: the code at %#llx does not begin with Go's stack "
			  "check: the function table does not match the code", name,
			  (unsigned long long)entry);
		goto out;
	}
	/* The check's bytes are whole instructions: the jump after them starts one. */
	fn->probe = fn->entry + probe_point(code, len, check);
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK || !(insn = cs_malloc(h))) {
		err = say(why, whylen, -ENOMEM, "cannot start the disassembler");
		goto out;
	}
	p = code;
	left = len;
	while (left && !err) {
		if (!cs_disasm_iter(h, &p, &left, &addr, insn))
			err = say(why, whylen, -EINVAL, "%s: no instruction at +%#llx", name,
				  (unsigned long long)(addr - entry));
		else if (insn->id == X86_INS_RET && fn->nrets == GO_MAX_RETS)
			err = say(why, whylen, -E2BIG, "%s: more than %d RET instructions", name,
				  GO_MAX_RETS);
		else if (insn->id == X86_INS_RET)
			fn->rets[fn->nrets++] = fn->entry + (insn->address - entry);
	}
	/* Without a RET there is no place to read what the call returned. */
	if (!err && !fn->nrets)
		err = say(why, whylen, -EINVAL, "%s: no RET instruction", name);
out:
	if (insn)
		cs_free(insn, 1);
	if (h)
		cs_close(&h);
	free(code);
	return err;
}

int go_elf_inspect(struct elf_image *img, struct go_info *gi, char *why, size_t whylen)
{
	struct go_pcln_func fn[3] = { { .name = conn_read }, { .name = conn_write },
				      { .name = spill_args } };
	bool rd_sym = false, wr_sym = false;
	struct go_pclntab t;
	Elf64_Ehdr eh;
	int err;

	memset(gi, 0, sizeof(*gi));
	if (why && whylen)
		why[0] = '\0';
	err = go_pclntab_open(img, &t);
	if (err == -ENOENT)
		return err;
	if (!err)
		err = go_pclntab_find(&t, fn, 3);
	if (err == -EFBIG)
		return say(why, whylen, err, "Go function table (pclntab): more to read than allowed");
	if (err)
		return say(why, whylen, err, "malformed Go function table (pclntab)");
	err = elf_image_pread(img, 0, &eh, sizeof(eh));
	if (err)
		return err;
	gi->pie = eh.e_type == ET_DYN;
	/* A Go program without crypto/tls is none of tlstap's business. */
	err = check_func(img, &fn[0], &rd_sym, why, whylen);
	if (!err)
		err = check_func(img, &fn[1], &wr_sym, why, whylen);
	if (err)
		return err;
	gi->stripped = !rd_sym || !wr_sym;
	err = check_abi(img, &t, !fn[2].err, gi, why, whylen);
	if (err)
		return err;
	/* Offsets from an unknown origin: never guessed (.text is not it when externally linked). */
	if (t.text_unknown)
		return say(why, whylen, -ENOTSUP, "text start unknown: the function table's offsets "
			   "count from an address neither a relocation nor .symtab gives");
	err = find_rets(img, conn_read, fn[0].entry, fn[0].end, &gi->read, why, whylen);
	if (!err)
		err = find_rets(img, conn_write, fn[1].entry, fn[1].end, &gi->write, why, whylen);
	return err;
}
