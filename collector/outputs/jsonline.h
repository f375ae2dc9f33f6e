/* One JSON line built in memory and written with one fwrite: stdio's work per call (format
 * parsing, a virtual call per piece) was most of what -o json cost per record. */
#ifndef TLSTAP_JSONLINE_H
#define TLSTAP_JSONLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <linux/types.h>

struct jsonline {
	char *p;
	size_t len, cap;
	bool failed;		/* out of memory: the line is dropped whole */
};

/* jl_room's slow path: grows the buffer, or fails the line. */
char *jl_grow(struct jsonline *l, size_t n);

/* Room for n more bytes at p + len, or NULL (the line is then failed). Inline: it runs
 * for every piece of every line. */
static inline char *jl_room(struct jsonline *l, size_t n)
{
	if (!l->failed && n <= l->cap - l->len)
		return l->p + l->len;
	return jl_grow(l, n);
}
/* Writes the line to f (unless it failed) and starts the next one. */
void jl_write(struct jsonline *l, FILE *f);
void jl_free(struct jsonline *l);

static inline void jl_put(struct jsonline *l, const char *s, size_t n)
{
	char *d = jl_room(l, n);

	if (d) {
		memcpy(d, s, n);
		l->len += n;
	}
}

/* A string literal, its length known at compile time. */
#define jl_lit(l, s)	jl_put((l), "" s, sizeof(s) - 1)

static inline void jl_cstr(struct jsonline *l, const char *s)
{
	jl_put(l, s, strlen(s));
}

/* v in decimal at p (at most 20 bytes, no NUL); returns the end. */
static inline char *jl_decimal(char *p, __u64 v)
{
	char d[20];
	int n = 0;

	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = d[--n];
	return p;
}

void jl_u64(struct jsonline *l, __u64 v);
void jl_s64(struct jsonline *l, __s64 v);
/* s (at most len bytes, up to a NUL; all len bytes must be readable) as a quoted JSON
 * string literal, every byte that must be escaped escaped: bytes, not UTF-8, so never
 * invalid JSON. */
void jl_string(struct jsonline *l, const char *s, size_t len);
/* A C string quoted, or null. */
void jl_str_or_null(struct jsonline *l, const char *s);

#endif
