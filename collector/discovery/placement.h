/* Where to put the probes: cheaper internal functions when that is certain, else the exported ones. */
#ifndef TLSTAP_PLACEMENT_H
#define TLSTAP_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* OpenSSL release lines whose internal read/write layout is known. */
enum ossl_line {
	OSSL_LINE_UNKNOWN = 0,
	OSSL_LINE_1_1_1,	/* ssl_write_internal(s, buf, num, written) */
	OSSL_LINE_3_0,		/* 3.0 and 3.1: as 1.1.1 */
	OSSL_LINE_3_2,		/* not checked: exported functions only */
	OSSL_LINE_3_3_PLUS,	/* ssl_write_internal(s, buf, num, flags, written) */
};

const char *placement_line_name(enum ossl_line line);

/* Fills buf with up to len bytes of code at vaddr; returns the count or -errno. */
typedef int (*code_reader_fn)(void *ctx, uint64_t vaddr, uint8_t *buf, size_t len);

enum { WRAP_SSL_READ, WRAP_SSL_READ_EX, WRAP_SSL_WRITE, WRAP_SSL_WRITE_EX, WRAP_N };

struct placement {
	bool internal;		/* probe read_vaddr/write_vaddr instead of the wrappers */
	uint64_t read_vaddr;
	uint64_t write_vaddr;
	int write_outlen_arg;	/* 4 or 5: where ssl_write_internal takes written */
	char why[200];
};

/*
 * OpenSSL: the internal functions are the target of the first call in every
 * wrapper (wrappers[i] = address, 0 if absent); accepted only when all four
 * agree per direction, the line is known and each target starts with an
 * instruction the kernel emulates.
 */
void placement_openssl(enum ossl_line line, const uint64_t wrappers[WRAP_N], code_reader_fn rd,
		       void *ctx, struct placement *p);

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

#endif
