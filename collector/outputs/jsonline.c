/* The JSON line builder: growth, numbers, escaped strings. */
#include <stdlib.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include "jsonline.h"

char *jl_grow(struct jsonline *l, size_t n)
{
	size_t cap;
	char *p;

	if (l->failed)
		return NULL;
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
	char buf[20];

	jl_put(l, buf, (size_t)(jl_decimal(buf, v) - buf));
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

/* Bytes from s + i up to the first one at or past len that is not plain printable ASCII
 * (a quote, a backslash, a control byte, DEL, a byte above 0x7f or a NUL). */
static size_t plain_run(const char *s, size_t i, size_t len)
{
#if defined(__SSE2__)
	/* 16 bytes per step: header values and paths are long runs of plain characters.
	 * Signed bytes: 0x80-0xff are negative, so "less than 0x20" catches them too. */
	const __m128i space = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f);
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
	__m128i v, bad;
	unsigned int mask;

	for (; i + 16 <= len; i += 16) {
		v = _mm_loadu_si128((const __m128i *)(s + i));
		bad = _mm_or_si128(_mm_or_si128(_mm_cmplt_epi8(v, space), _mm_cmpeq_epi8(v, del)),
				   _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)));
		mask = (unsigned int)_mm_movemask_epi8(bad);
		if (mask)
			return i + (size_t)__builtin_ctz(mask);
	}
#endif
	for (; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\' || c < 0x20 || c >= 0x7f)
			break;
	}
	return i;
}

void jl_string(struct jsonline *l, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;
	unsigned char c;
	char esc[6] = { '\\', 'u', '0', '0' };

	jl_lit(l, "\"");
	for (i = 0; i < len && s[i]; i++) {
		i = plain_run(s, i, len);
		if (i >= len || !s[i])
			break;
		c = (unsigned char)s[i];
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
