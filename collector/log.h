/* Diagnostics on stderr (stdout may carry capture data), with verbosity levels. */
#ifndef TLSTAP_LOG_H
#define TLSTAP_LOG_H

#include <stdarg.h>
#include <bpf/libbpf.h>

enum log_level { LOG_WARN = 0, LOG_INFO = 1, LOG_DEBUG = 2 };

void log_set_verbosity(int level);
int log_verbosity(void);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* libbpf's messages, demoted one level: its warnings are debug output to us. */
int log_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap);

#define pr_warn(...)	log_msg(LOG_WARN, __VA_ARGS__)
#define pr_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
