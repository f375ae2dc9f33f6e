/* What function bytes say for probe placement, decoded with Capstone. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <capstone/capstone.h>
#include "placement.h"

/* Instructions looked at from a function's start; wrappers are short. */
#define MAX_INSNS	64
#define CODE_BYTES	512

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

/*
 * Walks at most max instructions of the code at vaddr, giving each to step
 * until it returns non-zero: 0 when a step found what it looked for (1),
 * -ENOENT when none did or one gave up (-1), or a decoder error.
 */
static int dis_walk(const uint8_t *code, size_t len, uint64_t vaddr, int max,
		    int (*step)(const cs_insn *insn, uint64_t *out), uint64_t *out)
{
	struct dis d;
	int n = 0, r = 0, err = dis_open(&d, code, len, vaddr);

	if (err)
		return err;
	while (r == 0 && n++ < max && dis_next(&d))
		r = step(d.insn, out);
	dis_close(&d);
	return r > 0 ? 0 : -ENOENT;
}

static int first_call_step(const cs_insn *insn, uint64_t *target)
{
	const cs_x86 *x = &insn->detail->x86;

	if (insn->id == X86_INS_RET)
		return -1;
	if (insn->id != X86_INS_CALL)
		return 0;
	/* An indirect first call: nothing certain to say about it. */
	if (x->op_count == 1 && x->operands[0].type == X86_OP_IMM) {
		*target = (uint64_t)x->operands[0].imm;
		return 1;
	}
	return -1;
}

int placement_first_call(const uint8_t *code, size_t len, uint64_t vaddr, uint64_t *target)
{
	return dis_walk(code, len, vaddr, MAX_INSNS, first_call_step, target);
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

static int tail_jump_step(const cs_insn *insn, uint64_t *target)
{
	const cs_x86 *x = &insn->detail->x86;
	bool regs_only;
	int i;

	if (insn->id == X86_INS_JMP) {
		if (x->op_count == 1 && x->operands[0].type == X86_OP_IMM) {
			*target = (uint64_t)x->operands[0].imm;
			return 1;
		}
		return -1;
	}
	if (insn->id == X86_INS_ENDBR64)
		return 0;
	/* Only argument set-up (mov/xor between registers or of constants). */
	regs_only = insn->id == X86_INS_MOV || insn->id == X86_INS_XOR;
	for (i = 0; regs_only && i < x->op_count; i++)
		regs_only = x->operands[i].type != X86_OP_MEM;
	return regs_only ? 0 : -1;
}

int placement_tail_jump(const uint8_t *code, size_t len, uint64_t vaddr, uint64_t *target)
{
	return dis_walk(code, len, vaddr, 8, tail_jump_step, target);
}

/* [endbr64;] [bnd] jmp qword ptr [rip + disp] */
static int plt_slot_step(const cs_insn *insn, uint64_t *slot)
{
	const cs_x86_op *op;

	if (insn->id == X86_INS_ENDBR64)
		return 0;
	if (insn->id != X86_INS_JMP || insn->detail->x86.op_count != 1)
		return -1;
	op = &insn->detail->x86.operands[0];
	if (op->type == X86_OP_MEM && op->mem.base == X86_REG_RIP && op->mem.index == X86_REG_INVALID) {
		*slot = insn->address + insn->size + (uint64_t)op->mem.disp;
		return 1;
	}
	return -1;
}

int placement_plt_slot(const uint8_t *code, size_t len, uint64_t vaddr, uint64_t *slot)
{
	return dis_walk(code, len, vaddr, 3, plt_slot_step, slot);
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

int placement_call_target(code_reader_fn rd, void *ctx, uint64_t fn, uint64_t *target)
{
	uint8_t code[CODE_BYTES];
	int n = rd(ctx, fn, code, sizeof(code));

	if (n <= 0)
		return -ENOENT;
	return placement_first_call(code, (size_t)n, fn, target);
}

int placement_cheap_at(code_reader_fn rd, void *ctx, uint64_t fn, uint64_t *probe_at)
{
	uint8_t code[16];
	int n = rd(ctx, fn, code, sizeof(code));

	if (n <= 0)
		return -ENOENT;
	return placement_cheap_entry(code, (size_t)n, fn, probe_at);
}
