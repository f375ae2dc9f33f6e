/* Probe placement decisions from function bytes, decoded with Capstone. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <capstone/capstone.h>
#include "placement.h"

/* Instructions looked at from a function's start; wrappers are short. */
#define MAX_INSNS	64
#define CODE_BYTES	512

const char *placement_line_name(enum ossl_line line)
{
	switch (line) {
	case OSSL_LINE_1_1_1:
		return "1.1.1";
	case OSSL_LINE_3_0:
		return "3.0/3.1";
	case OSSL_LINE_3_2:
		return "3.2";
	case OSSL_LINE_3_3_PLUS:
		return "3.3+";
	default:
		return "unknown";
	}
}

#if defined(__x86_64__)
/* A Capstone decoder walking one code buffer, an instruction at a time. */
struct dis {
	csh h;
	cs_insn *insn;
	const uint8_t *p;
	size_t len;
	uint64_t addr;
};

static int dis_open(struct dis *d, const uint8_t *code, size_t len, uint64_t vaddr)
{
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &d->h) != CS_ERR_OK)
		return -ENOTSUP;
	cs_option(d->h, CS_OPT_DETAIL, CS_OPT_ON);
	d->insn = cs_malloc(d->h);
	if (!d->insn) {
		cs_close(&d->h);
		return -ENOMEM;
	}
	d->p = code;
	d->len = len;
	d->addr = vaddr;
	return 0;
}

static bool dis_next(struct dis *d)
{
	return cs_disasm_iter(d->h, &d->p, &d->len, &d->addr, d->insn);
}

static void dis_close(struct dis *d)
{
	cs_free(d->insn, 1);
	cs_close(&d->h);
}

static bool is_endbr64(const uint8_t *c, size_t len)
{
	return len >= 4 && c[0] == 0xf3 && c[1] == 0x0f && c[2] == 0x1e && c[3] == 0xfa;
}

int placement_first_call(const uint8_t *code, size_t len, uint64_t vaddr, uint64_t *target)
{
	struct dis d;
	cs_x86 *x;
	int n = 0, err = dis_open(&d, code, len, vaddr);

	if (err)
		return err;
	err = -ENOENT;
	while (n++ < MAX_INSNS && dis_next(&d)) {
		if (d.insn->id == X86_INS_RET)
			break;
		if (d.insn->id != X86_INS_CALL)
			continue;
		x = &d.insn->detail->x86;
		/* An indirect first call: nothing certain to say about it. */
		if (x->op_count == 1 && x->operands[0].type == X86_OP_IMM) {
			*target = (uint64_t)x->operands[0].imm;
			err = 0;
		}
		break;
	}
	dis_close(&d);
	return err;
}

int placement_cheap_entry(const uint8_t *code, size_t len, uint64_t vaddr, uint64_t *probe_at)
{
	size_t skip = is_endbr64(code, len) ? 4 : 0;
	const uint8_t *c = code + skip;

	if (len < skip + 2)
		return -EINVAL;
	/* x86 uprobes emulate push of a register (0x50-0x57, REX.B 0x41 for
	 * r8-r15); most other first instructions are single-stepped. */
	if ((c[0] >= 0x50 && c[0] <= 0x57) || (c[0] == 0x41 && c[1] >= 0x50 && c[1] <= 0x57)) {
		*probe_at = vaddr + skip;
		return 0;
	}
	return -EINVAL;
}

int placement_tail_jump(const uint8_t *code, size_t len, uint64_t vaddr, uint64_t *target)
{
	struct dis d;
	cs_x86 *x;
	int n = 0, i, err = dis_open(&d, code, len, vaddr);
	bool regs_only;

	if (err)
		return err;
	err = -ENOENT;
	while (n++ < 8 && dis_next(&d)) {
		x = &d.insn->detail->x86;
		if (d.insn->id == X86_INS_JMP) {
			if (x->op_count == 1 && x->operands[0].type == X86_OP_IMM) {
				*target = (uint64_t)x->operands[0].imm;
				err = 0;
			}
			break;
		}
		if (d.insn->id == X86_INS_ENDBR64)
			continue;
		/* Only argument set-up (mov/xor between registers or of constants). */
		regs_only = d.insn->id == X86_INS_MOV || d.insn->id == X86_INS_XOR;
		for (i = 0; regs_only && i < x->op_count; i++)
			regs_only = x->operands[i].type != X86_OP_MEM;
		if (!regs_only)
			break;
	}
	dis_close(&d);
	return err;
}

int placement_plt_slot(const uint8_t *code, size_t len, uint64_t vaddr, uint64_t *slot)
{
	struct dis d;
	cs_x86_op *op;
	int n = 0, err = dis_open(&d, code, len, vaddr);

	if (err)
		return err;
	err = -ENOENT;
	/* [endbr64;] [bnd] jmp qword ptr [rip + disp] */
	while (n++ < 3 && dis_next(&d)) {
		if (d.insn->id == X86_INS_ENDBR64)
			continue;
		if (d.insn->id != X86_INS_JMP || d.insn->detail->x86.op_count != 1)
			break;
		op = &d.insn->detail->x86.operands[0];
		if (op->type == X86_OP_MEM && op->mem.base == X86_REG_RIP && op->mem.index == X86_REG_INVALID) {
			*slot = d.insn->address + d.insn->size + (uint64_t)op->mem.disp;
			err = 0;
		}
		break;
	}
	dis_close(&d);
	return err;
}
#else
int placement_first_call(const uint8_t *code, size_t len, uint64_t vaddr, uint64_t *target)
{
	return -ENOTSUP;
}

int placement_cheap_entry(const uint8_t *code, size_t len, uint64_t vaddr, uint64_t *probe_at)
{
	return -EINVAL;
}

int placement_tail_jump(const uint8_t *code, size_t len, uint64_t vaddr, uint64_t *target)
{
	return -ENOTSUP;
}

int placement_plt_slot(const uint8_t *code, size_t len, uint64_t vaddr, uint64_t *slot)
{
	return -ENOTSUP;
}
#endif

static int target_of(code_reader_fn rd, void *ctx, uint64_t fn, uint64_t *target)
{
	uint8_t code[CODE_BYTES];
	int n = rd(ctx, fn, code, sizeof(code));

	if (n <= 0)
		return -ENOENT;
	return placement_first_call(code, (size_t)n, fn, target);
}

static int cheap_at(code_reader_fn rd, void *ctx, uint64_t fn, uint64_t *probe_at)
{
	uint8_t code[16];
	int n = rd(ctx, fn, code, sizeof(code));

	if (n <= 0)
		return -ENOENT;
	return placement_cheap_entry(code, (size_t)n, fn, probe_at);
}

static void exported(struct placement *p, const char *fmt, const char *arg)
{
	p->internal = false;
	snprintf(p->why, sizeof(p->why), fmt, arg);
}

void placement_openssl(enum ossl_line line, const uint64_t wrappers[WRAP_N], code_reader_fn rd,
		       void *ctx, struct placement *p)
{
	static const char *const names[WRAP_N] = { "SSL_read", "SSL_read_ex", "SSL_write",
						   "SSL_write_ex" };
	uint64_t targets[WRAP_N];
	int i;

	memset(p, 0, sizeof(*p));
	if (line == OSSL_LINE_UNKNOWN || line == OSSL_LINE_3_2) {
		exported(p, "exported functions: OpenSSL %s, internal layout not known",
			 placement_line_name(line));
		return;
	}
	for (i = 0; i < WRAP_N; i++) {
		if (!wrappers[i]) {
			exported(p, "exported functions: no %s", names[i]);
			return;
		}
		if (target_of(rd, ctx, wrappers[i], &targets[i])) {
			exported(p, "exported functions: %s makes no direct call", names[i]);
			return;
		}
	}
	if (targets[WRAP_SSL_READ] != targets[WRAP_SSL_READ_EX] ||
	    targets[WRAP_SSL_WRITE] != targets[WRAP_SSL_WRITE_EX]) {
		exported(p, "exported functions: %s", "wrappers call different functions");
		return;
	}
	if (targets[WRAP_SSL_READ] == targets[WRAP_SSL_WRITE]) {
		exported(p, "exported functions: %s", "read and write wrappers call the same function");
		return;
	}
	if (cheap_at(rd, ctx, targets[WRAP_SSL_READ], &p->read_vaddr) ||
	    cheap_at(rd, ctx, targets[WRAP_SSL_WRITE], &p->write_vaddr)) {
		exported(p, "exported functions: %s",
			 "an internal function starts with an instruction the kernel single-steps");
		return;
	}
	p->internal = true;
	p->write_outlen_arg = line == OSSL_LINE_3_3_PLUS ? 5 : 4;
	snprintf(p->why, sizeof(p->why),
		 "internal functions: OpenSSL %s, all 4 wrappers agree, both start with push",
		 placement_line_name(line));
}
