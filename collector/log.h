/* Diagnostics on stderr (stdout may carry capture data), with verbosity levels. */
#ifndef TLSTAP_LOG_H
#define TLSTAP_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <bpf/libbpf.h>

enum log_level { LOG_WARN = 0, LOG_INFO = 1, LOG_DEBUG = 2 };

void log_set_verbosity(int level);
int log_verbosity(void);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* libbpf's messages, demoted one level: its warnings are debug output to us. */
int log_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap);

/* Room for n bytes escaped by log_escape(), with the NUL. */
#define LOG_ESCAPED_SIZE(n)	(4 * (n) + 1)

/*
 * Copies at most maxlen bytes of s (to its NUL) into out (outlen bytes, always
 * NUL-terminated) with every byte a terminal could act on written as \xNN:
 * control bytes, DEL and all bytes above 0x7f (so no escape sequence, C1
 * control or invalid UTF-8 passes), and a backslash as \\ so the result is
 * unambiguous. For names others choose (file names, comm, strings read from
 * files) on their way to a terminal. A result that does not fit ends at a
 * whole escape. Returns out.
 */
const char *log_escape(char *out, size_t outlen, const char *s, size_t maxlen);

#define pr_warn(...)	log_msg(LOG_WARN, __VA_ARGS__)
#define pr_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
