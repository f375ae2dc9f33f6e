/* HTTP/1 start lines, header lines and the values framing rests on: strict parsing of one line without its CRLF. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include "http1_line.h"
#include "http_hex.h"

bool h1_is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c);
}

/* "HTTP/1.x" at l (8 bytes available): the minor digit or -1. */
static int version(const char *l)
{
	if (memcmp(l, "HTTP/1.", 7))
		return -1;
	return l[7] == '0' || l[7] == '1' ? l[7] - '0' : -1;
}

/*
 * The token l begins with, when delim follows it: sets *tok and *len and
 * returns where the rest begins (past delim). 0 when there is none.
 */
static size_t token_then(const char *l, size_t n, char delim, const char **tok, size_t *len)
{
	size_t i = 0;

	while (i < n && h1_is_tchar((unsigned char)l[i]))
		i++;
	if (!i || i >= n || l[i] != delim)
		return 0;
	*tok = l;
	*len = i;
	return i + 1;
}

int h1_parse_request_line(const char *l, size_t n, struct h1_reqline *r)
{
	size_t i, t;

	if (!(t = i = token_then(l, n, ' ', &r->method, &r->method_len)))
		return -EINVAL;
	/* Raw UTF-8 in targets is common in practice: any visible byte but DEL. */
	while (i < n && (unsigned char)l[i] > ' ' && l[i] != 0x7f)
		i++;
	if (i == t || i >= n || l[i] != ' ')
		return -EINVAL;
	r->target = l + t;
	r->target_len = i - t;
	i++;
	if (n - i != 8 || (r->minor = version(l + i)) < 0)
		return -EINVAL;
	return 0;
}

int h1_parse_status_line(const char *l, size_t n, struct h1_statusline *s)
{
	size_t i;

	if (n < 12 || (s->minor = version(l)) < 0 || l[8] != ' ')
		return -EINVAL;
	for (i = 9; i < 12; i++)
		if (l[i] < '0' || l[i] > '9')
			return -EINVAL;
	if (l[9] == '0')
		return -EINVAL;
	s->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
	/* The reason phrase is optional, and so (in practice) is the space before it. */
	if (n > 12 && l[12] != ' ')
		return -EINVAL;
	for (i = 12; i < n; i++)
		if ((unsigned char)l[i] < ' ' && l[i] != '\t')
			return -EINVAL;
	return 0;
}

int h1_parse_field(const char *l, size_t n, struct h1_field *f)
{
	size_t i, e;

	/* No whitespace between name and colon (RFC 9112 5.1): a smuggling vector. */
	if (!(i = token_then(l, n, ':', &f->name, &f->name_len)))
		return -EINVAL;
	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	e = n;
	while (e > i && (l[e - 1] == ' ' || l[e - 1] == '\t'))
		e--;
	f->value = l + i;
	f->value_len = e - i;
	for (; i < e; i++)
		if (((unsigned char)l[i] < ' ' && l[i] != '\t') || l[i] == 0x7f)
			return -EINVAL;
	return 0;
}

bool h1_known_method(const char *p, size_t n)
{
	static const char *const methods[] = {
		"GET ", "HEAD ", "POST ", "PUT ", "DELETE ", "CONNECT ", "OPTIONS ",
		"TRACE ", "PATCH ", "PROPFIND ", "PROPPATCH ", "MKCOL ", "COPY ",
		"MOVE ", "LOCK ", "UNLOCK ", "REPORT ", "SEARCH ",
	};
	size_t i, k;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		k = strlen(methods[i]);
		if (n >= k && !memcmp(p, methods[i], k))
			return true;
	}
	return false;
}

int h1_parse_content_length(const char *v, size_t len, uint64_t *out)
{
	uint64_t n = 0, first = 0;
	bool have = false, digits = false;
	size_t i;

	for (i = 0; i <= len; i++) {
		if (i == len || v[i] == ',') {
			if (!digits || (have && n != first))
				return -EINVAL;
			first = n;
			have = true;
			n = 0;
			digits = false;
			continue;
		}
		if (v[i] == ' ' || v[i] == '\t')
			continue;
		if (v[i] < '0' || v[i] > '9' || n > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		n = n * 10 + (uint64_t)(v[i] - '0');
		digits = true;
	}
	*out = first;
	return 0;
}

bool h1_last_coding_is_chunked(const char *v, size_t len)
{
	size_t e = len, b;

	while (e && (v[e - 1] == ' ' || v[e - 1] == '\t' || v[e - 1] == ','))
		e--;
	b = e;
	while (b && v[b - 1] != ',' && v[b - 1] != ' ' && v[b - 1] != '\t')
		b--;
	return e - b == 7 && !strncasecmp(v + b, "chunked", 7);
}

void h1_lower_token(char *dst, size_t size, const char *v, size_t len)
{
	size_t i;

	for (i = 0; i < len && i + 1 < size && h1_is_tchar((unsigned char)v[i]); i++)
		dst[i] = (v[i] >= 'A' && v[i] <= 'Z') ? v[i] - 'A' + 'a' : v[i];
	dst[i] = '\0';
}

int h1_parse_chunk_size(const char *l, size_t n, uint64_t *size)
{
	uint64_t v = 0;
	size_t i;
	int d;

	for (i = 0; i < n && (d = http_hexval(l[i])) >= 0; i++) {
		if (v >> 59)
			return -EINVAL;
		v = v << 4 | (uint64_t)d;
	}
	if (!i)
		return -EINVAL;
	/* Chunk extensions (";name=value") and whitespace before them are ignored. */
	if (i < n && l[i] != ';' && l[i] != ' ' && l[i] != '\t')
		return -EINVAL;
	*size = v;
	return 0;
}
