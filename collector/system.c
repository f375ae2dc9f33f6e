/* What tlstap asks of the system it runs on: privileges, BTF, its own memory (/proc/self/status). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>
#include "log.h"
#include "system.h"

/* A number from a line of /proc/self/status, read with fmt ("VmHWM: %llu kB"). */
static bool self_status(const char *fmt, unsigned long long *v)
{
	char line[256];
	bool found = false;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, fmt, v) == 1;
	fclose(f);
	return found;
}

/* Whether the effective capability set has bit cap. */
static bool has_cap(int cap)
{
	unsigned long long caps = 0;

	return self_status("CapEff: %llx", &caps) && (caps >> cap) & 1;
}

int system_check(void)
{
	const int cap_sys_admin = 21, cap_perfmon = 38, cap_bpf = 39;

	if (!has_cap(cap_sys_admin) && !(has_cap(cap_bpf) && has_cap(cap_perfmon))) {
		pr_warn("needs root (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN) to load BPF programs\n");
		return -EPERM;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		pr_warn("this kernel has no BTF (/sys/kernel/btf/vmlinux): it needs CONFIG_DEBUG_INFO_BTF=y\n");
		return -ENOTSUP;
	}
	return 0;
}

__u64 system_rss_peak_bytes(void)
{
	unsigned long long kib = 0;

	return self_status("VmHWM: %llu kB", &kib) ? (__u64)kib * 1024 : 0;
}
