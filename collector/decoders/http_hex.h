/* Hex digits, as in chunk sizes and percent-escapes. */
#ifndef TLSTAP_HTTP_HEX_H
#define TLSTAP_HTTP_HEX_H

/* The value of hex digit c, or -1. */
static inline int http_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
