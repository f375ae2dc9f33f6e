/* What a function's first instructions say: where it calls or jumps, and whether a probe there is cheap. */
#ifndef TLSTAP_PLACEMENT_H
#define TLSTAP_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Fills buf with up to len bytes of code at vaddr; returns the count or -errno. */
typedef int (*code_reader_fn)(void *ctx, uint64_t vaddr, uint8_t *buf, size_t len);

/* The target of the first direct call in the code at vaddr: 0 or -ENOENT. */
int placement_first_call(const uint8_t *code, size_t len, uint64_t vaddr, uint64_t *target);

/*
 * Whether a probe at the function starting at vaddr is cheap: its first
 * instruction (after an endbr64, which is then skipped) is one the kernel
 * emulates instead of single-stepping. 0 with *probe_at, or -EINVAL.
 */
int placement_cheap_entry(const uint8_t *code, size_t len, uint64_t vaddr, uint64_t *probe_at);

/*
 * Whether the function at vaddr only sets registers and jumps on: 0 with
 * the jump's target (a PLT stub or a function), -ENOENT otherwise.
 */
int placement_tail_jump(const uint8_t *code, size_t len, uint64_t vaddr, uint64_t *target);

/* A PLT stub's GOT slot: the address its indirect jump reads. 0 or -ENOENT. */
int placement_plt_slot(const uint8_t *code, size_t len, uint64_t vaddr, uint64_t *slot);

/* placement_first_call() and placement_cheap_entry() on the function at fn,
 * read through rd: 0, or a negative errno. */
int placement_call_target(code_reader_fn rd, void *ctx, uint64_t fn, uint64_t *target);
int placement_cheap_at(code_reader_fn rd, void *ctx, uint64_t fn, uint64_t *probe_at);

#endif
