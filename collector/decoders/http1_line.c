/* HTTP/1 start lines and header lines: strict parsing of one line without its CRLF. */
#include <errno.h>
#include <string.h>
#include "http1_line.h"

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

int h1_parse_request_line(const char *l, size_t n, struct h1_reqline *r)
{
	size_t i = 0, t;

	while (i < n && h1_is_tchar((unsigned char)l[i]))
		i++;
	if (!i || i >= n || l[i] != ' ')
		return -EINVAL;
	r->method = l;
	r->method_len = i;
	t = ++i;
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
	size_t i = 0, e;

	while (i < n && h1_is_tchar((unsigned char)l[i]))
		i++;
	/* No whitespace between name and colon (RFC 9112 5.1): a smuggling vector. */
	if (!i || i >= n || l[i] != ':')
		return -EINVAL;
	f->name = l;
	f->name_len = i;
	i++;
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
