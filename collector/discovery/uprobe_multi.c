/* Many uprobes of one file in one BPF link (kernel 6.6+), which also detaches them in one go. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <linux/bpf.h>
#include <bpf/btf.h>
#include "uprobe_multi.h"

/*
 * Not in the uapi headers of this distribution (libbpf 1.1, Linux 6.1
 * headers): the values and the layout of bpf_attr.link_create for
 * BPF_TRACE_UPROBE_MULTI, as the kernel has defined them since 6.6.
 */
#define UMULTI_ATTACH_TYPE	48	/* BPF_TRACE_UPROBE_MULTI */
#define UMULTI_F_RETURN		1u	/* BPF_F_UPROBE_MULTI_RETURN */

struct umulti_attr {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;
	__aligned_u64 path;
	__aligned_u64 offsets;
	__aligned_u64 ref_ctr_offsets;
	__aligned_u64 cookies;
	__u32 cnt;
	__u32 umulti_flags;
	__u32 pid;
};

static int supported = -1;

/*
 * Before Linux 6.10 (upstream fix "fix multi-uprobe PID filtering logic"),
 * a uprobe_multi link's pid matched one thread, not the process: there the
 * probes fire in every process and the BPF side's pid filter (-p) keeps
 * the others out. Stable kernels with the fix backported pay a little for
 * nothing.
 */
static bool pid_filter_works(void)
{
	static int works = -1;
	struct utsname u;
	int major = 0, minor = 0;

	if (works < 0)
		works = !uname(&u) && sscanf(u.release, "%d.%d", &major, &minor) == 2 &&
			(major > 6 || (major == 6 && minor >= 10));
	return works;
}

bool uprobe_multi_supported(void)
{
	const char *off = getenv("TLSTAP_NO_UPROBE_MULTI");
	struct btf *btf;

	if (supported >= 0)
		return supported;
	/* The tests' way to run the older path on this kernel too. */
	if (off && *off && strcmp(off, "0")) {
		supported = 0;
		return false;
	}
	/* The link's own type is in the kernel's BTF from the release that added it. */
	btf = btf__load_vmlinux_btf();
	supported = btf && btf__find_by_name_kind(btf, "bpf_uprobe_multi_link", BTF_KIND_STRUCT) > 0;
	btf__free(btf);
	return supported;
}

int uprobe_multi_prepare(struct bpf_object *obj)
{
	struct bpf_program *prog;
	const char *sec;
	int err;

	if (!uprobe_multi_supported())
		return 0;
	bpf_object__for_each_program(prog, obj) {
		sec = bpf_program__section_name(prog);
		if (strcmp(sec, "uprobe") && strcmp(sec, "uretprobe"))
			continue;
		err = bpf_program__set_expected_attach_type(prog,
							    (enum bpf_attach_type)UMULTI_ATTACH_TYPE);
		if (err)
			return err;
	}
	return 0;
}

int uprobe_multi_attach(struct bpf_program *prog, const char *path, const __u64 *offsets,
			const __u64 *cookies, __u32 cnt, pid_t pid, bool retprobe)
{
	struct umulti_attr attr;
	long fd;

	if (!cnt || !path)
		return -EINVAL;
	memset(&attr, 0, sizeof(attr));
	attr.prog_fd = (__u32)bpf_program__fd(prog);
	attr.attach_type = UMULTI_ATTACH_TYPE;
	attr.path = (__u64)(unsigned long)path;
	attr.offsets = (__u64)(unsigned long)offsets;
	attr.cookies = (__u64)(unsigned long)cookies;
	attr.cnt = cnt;
	attr.umulti_flags = retprobe ? UMULTI_F_RETURN : 0;
	attr.pid = pid > 0 && pid_filter_works() ? (__u32)pid : 0;
	fd = syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
	return fd < 0 ? -errno : (int)fd;
}
