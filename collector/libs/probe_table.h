/* The TLS libraries tlstap knows, and the func_id that names each probed function in events. */
#ifndef TLSTAP_PROBE_TABLE_H
#define TLSTAP_PROBE_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "tls_lib.h"

/* Every library, in a fixed order: a library's index is its place here. */
extern const struct tls_lib *const tls_libs[];
extern const int tls_libs_n;

/* The index of the library named name ("openssl"), or -1. */
int probe_lib_by_name(const char *name);

/* A func_id no function has (a record from a file that names none). */
#define PROBE_FUNC_NONE		0xff

/* The func_id of lib's function fi (both in range). */
static inline uint8_t probe_func_id(int lib, int fi)
{
	return (uint8_t)(lib * TLS_LIB_MAX_FUNCS + fi);
}

/* The function of a func_id and its library's index, or NULL (hostile input). */
const struct tls_func *probe_func(uint8_t func_id, int *lib);
/* The function's name, or "?". */
const char *probe_func_name(uint8_t func_id);
/* The name of the function's library ("openssl"), or "?". */
const char *probe_func_lib_name(uint8_t func_id);
/* The func_id of the first function named name, or PROBE_FUNC_NONE. */
uint8_t probe_func_id_by_name(const char *name);

/* The probe cookie of function fi of library lib (struct tlstap_cookie). */
uint64_t probe_cookie(int lib, int fi);

/*
 * One string field of every library (offsetof(struct tls_lib, field)),
 * joined with sep, and last before the last one: "A, B and C". Returns
 * buf, cut to len if need be.
 */
char *probe_libs_join(char *buf, size_t len, size_t field, const char *sep, const char *last);

/* Whether a file name is one a known library's files have (libssl.so.3). */
bool probe_libs_file_name(const char *basename);

#endif
