/* The value of one hexadecimal digit, for the percent-decoders of gRPC messages and pcapng comments. */
#ifndef TLSTAP_HEXDIGIT_H
#define TLSTAP_HEXDIGIT_H

/* 0-15, or -1 for a character that is not a hex digit (either case). */
static inline int hex_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;	/* 'A'-'F' become 'a'-'f'; nothing else does */
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

#endif
