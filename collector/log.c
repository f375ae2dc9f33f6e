/* Diagnostics on stderr, prefixed with the program name. */
#include <stdio.h>
#include <bpf/libbpf.h>
#include "log.h"

static int verbosity = LOG_WARN;

void log_set_verbosity(int level)
{
	verbosity = level;
}

int log_verbosity(void)
{
	return verbosity;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if ((int)level > verbosity)
		return;
	fputs("tlstap: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

const char *log_escape(char *out, size_t outlen, const char *s, size_t maxlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;
	unsigned char c;

	if (!outlen)
		return out;
	for (i = 0; i < maxlen && s[i]; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= outlen)
				break;
			out[o++] = (char)c;
			continue;
		}
		if (o + (c == '\\' ? 2 : 4) >= outlen)
			break;
		out[o++] = '\\';
		if (c == '\\') {
			out[o++] = '\\';
			continue;
		}
		out[o++] = 'x';
		out[o++] = hex[c >> 4];
		out[o++] = hex[c & 15];
	}
	out[o] = '\0';
	return out;
}

int log_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	int ours = level == LIBBPF_WARN ? LOG_INFO : LOG_DEBUG;

	if (ours > verbosity)
		return 0;
	fputs("libbpf: ", stderr);
	return vfprintf(stderr, fmt, ap);
}
