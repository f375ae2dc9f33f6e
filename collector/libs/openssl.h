/* OpenSSL's internal-function placement, exposed for its tests. */
#ifndef TLSTAP_OPENSSL_H
#define TLSTAP_OPENSSL_H

#include <stdbool.h>
#include <stdint.h>
#include "placement.h"

/* OpenSSL release lines whose internal read/write layout is known. */
enum ossl_line {
	OSSL_LINE_UNKNOWN = 0,
	OSSL_LINE_1_1_1,	/* ssl_write_internal(s, buf, num, written) */
	OSSL_LINE_3_0,		/* 3.0 and 3.1: as 1.1.1 */
	OSSL_LINE_3_2,		/* not checked: exported functions only */
	OSSL_LINE_3_3_PLUS,	/* ssl_write_internal(s, buf, num, flags, written) */
};

const char *placement_line_name(enum ossl_line line);

enum { WRAP_SSL_READ, WRAP_SSL_READ_EX, WRAP_SSL_WRITE, WRAP_SSL_WRITE_EX, WRAP_N };

struct placement {
	bool internal;		/* probe read_vaddr/write_vaddr instead of the wrappers */
	uint64_t read_vaddr;
	uint64_t write_vaddr;
	int write_outlen_arg;	/* 4 or 5: where ssl_write_internal takes written */
	char why[200];
};

/*
 * The internal functions are the target of the first call in every wrapper
 * (wrappers[i] = address, 0 if absent); accepted only when all four agree
 * per direction, the line is known and each target starts with an
 * instruction the kernel emulates.
 */
void placement_openssl(enum ossl_line line, const uint64_t wrappers[WRAP_N], code_reader_fn rd,
		       void *ctx, struct placement *p);

#endif
