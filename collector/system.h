/* What tlstap asks of the system it runs on: privileges, BTF, its own memory. */
#ifndef TLSTAP_SYSTEM_H
#define TLSTAP_SYSTEM_H

#include <linux/types.h>

/* 0 when BPF programs can be loaded here; else says why (pr_warn) and returns -EPERM or -ENOTSUP. */
int system_check(void);
/* This process's resident high-water mark (VmHWM), in bytes; 0 if unknown. */
__u64 system_rss_peak_bytes(void);

#endif
