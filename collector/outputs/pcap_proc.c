/* Reads /proc for the name and description of a traced process's pcapng interface. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include "cgroup_cache.h"
#include "pcap_comment.h"
#include "pcap_proc.h"

/* The command line, its NULs as spaces, percent-encoded; "" if unreadable. */
static void read_cmdline(__u32 pid, char *cmdline, size_t len)
{
	char path[64], raw[400];
	ssize_t r = -1, i;
	int fd;

	cmdline[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%u/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		r = read(fd, raw, sizeof(raw) - 1);
		close(fd);
	}
	for (i = 0; i < r; i++)
		raw[i] = raw[i] ? raw[i] : ' ';
	if (r > 0) {
		raw[r] = '\0';
		pcap_pct_encode(cmdline, len, raw, (size_t)r);
	}
}

/* " cgroup N[ container RUNTIME:ID][ pod UID]": who the process is, for a fleet. */
static void describe_cgroup(__u32 pid, __u64 cgroup_id, char *out, size_t len)
{
	const struct container_info *ci = cgroup_cache_get(cgroup_id, pid);
	int n = snprintf(out, len, " cgroup %llu", (unsigned long long)cgroup_id);

	if (ci && ci->runtime != CTR_NONE && n > 0 && (size_t)n < len)
		n += snprintf(out + n, len - n, " container %s:%s",
			      container_runtime_name(ci->runtime), ci->id);
	if (ci && ci->pod_uid[0] && n > 0 && (size_t)n < len)
		snprintf(out + n, len - n, " pod %s", ci->pod_uid);
}

void pcap_proc_describe(__u32 pid, const char *comm, __u64 cgroup_id, char *name, size_t name_len,
			char *descr, size_t descr_len)
{
	char exe[256], exe_enc[sizeof(exe) * 3], path[64], cmdline[400], who[160];
	char enc[TLSTAP_COMM_LEN * 3 + 1];
	ssize_t n;

	pcap_pct_encode(enc, sizeof(enc), comm, TLSTAP_COMM_LEN);
	snprintf(name, name_len, "%s[%u]", enc, pid);
	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	/* Encoded like the command line: a file named " cgroup 1 container ..." says nothing. */
	pcap_pct_encode(exe_enc, sizeof(exe_enc), exe, n > 0 ? (size_t)n : 0);
	read_cmdline(pid, cmdline, sizeof(cmdline));
	describe_cgroup(pid, cgroup_id, who, sizeof(who));
	/* The command line last: a long one is what gets cut. */
	snprintf(descr, descr_len, "pid %u exe %s%s cmdline %s", pid, exe_enc[0] ? exe_enc : "?", who,
		 cmdline[0] ? cmdline : "?");
}
