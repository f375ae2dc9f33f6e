/* The JSON line builder: growth, numbers, escaped strings. */
#include <stdlib.h>
#include "jsonline.h"

char *jl_room(struct jsonline *l, size_t n)
{
	size_t cap;
	char *p;

	if (l->failed)
		return NULL;
	if (n <= l->cap - l->len)
		return l->p + l->len;
	/* Lines are bounded by the record and header limits; the buffer keeps the largest. */
	cap = l->cap ? l->cap : 4096;
	while (cap - l->len < n) {
		if (cap > ((size_t)-1) / 2) {
			l->failed = true;
			return NULL;
		}
		cap *= 2;
	}
	p = realloc(l->p, cap);
	if (!p) {
		l->failed = true;
		return NULL;
	}
	l->p = p;
	l->cap = cap;
	return l->p + l->len;
}

void jl_write(struct jsonline *l, FILE *f)
{
	if (!l->failed && l->len)
		fwrite(l->p, 1, l->len, f);
	l->len = 0;
	l->failed = false;
}

void jl_free(struct jsonline *l)
{
	free(l->p);
	memset(l, 0, sizeof(*l));
}

void jl_u64(struct jsonline *l, __u64 v)
{
	char buf[20], *e = buf + sizeof(buf), *s = e;

	do {
		*--s = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	jl_put(l, s, (size_t)(e - s));
}

void jl_s64(struct jsonline *l, __s64 v)
{
	if (v < 0) {
		jl_lit(l, "-");
		/* -(v + 1) + 1: INT64_MIN has no positive twin. */
		jl_u64(l, (__u64)(-(v + 1)) + 1);
		return;
	}
	jl_u64(l, (__u64)v);
}

void jl_string(struct jsonline *l, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;
	unsigned char c;
	char esc[6] = { '\\', 'u', '0', '0' };

	jl_lit(l, "\"");
	for (i = 0; i < len && s[i]; i++) {
		c = (unsigned char)s[i];
		if (c != '"' && c != '\\' && c >= 0x20 && c < 0x7f)
			continue;
		/* Plain characters go out a run at a time (names and paths are most of them). */
		jl_put(l, s + run, i - run);
		run = i + 1;
		if (c == '"' || c == '\\') {
			esc[1] = (char)c;
			jl_put(l, esc, 2);
			esc[1] = 'u';
		} else {
			/* Bytes, not UTF-8: each one its own code point, never invalid JSON. */
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			jl_put(l, esc, 6);
		}
	}
	jl_put(l, s + run, i - run);
	jl_lit(l, "\"");
}

void jl_str_or_null(struct jsonline *l, const char *s)
{
	if (s)
		jl_string(l, s, strlen(s));
	else
		jl_lit(l, "null");
}
