/* A traced process as a pcapng interface: its name and description, read from /proc. */
#ifndef TLSTAP_PCAP_PROC_H
#define TLSTAP_PCAP_PROC_H

#include <stddef.h>
#include <linux/types.h>

/*
 * name: "comm[pid]"; descr: "pid N exe PATH cgroup ID [container
 * RUNTIME:ID] [pod UID] cmdline ARGS" ("?" for what /proc does not give;
 * container and pod when its cgroup names them). comm (TLSTAP_COMM_LEN bytes) and the command
 * line are percent-encoded: the process chose them.
 */
void pcap_proc_describe(__u32 pid, const char *comm, __u64 cgroup_id, char *name, size_t name_len,
			char *descr, size_t descr_len);

#endif
