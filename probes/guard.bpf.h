/* The test a probed call passes before it is captured (struct tlstap_guard, one per func_id). */
#ifndef TLSTAP_GUARD_BPF_H
#define TLSTAP_GUARD_BPF_H

#include "tlstap.h"
#include "frames.bpf.h"
#include "maps.bpf.h"

/* Whether the call entering with args on session moves TLS plaintext. */
static __always_inline bool guard_passes(__u8 func_id, const struct call_args *args, __u64 session)
{
	__u64 raw = guards[func_id], priv = 0, back = 0;
	struct tlstap_guard g;

	__builtin_memcpy(&g, &raw, sizeof(g));
	if (g.skip_arg && (arg_at(args, g.skip_arg) & g.skip_mask))
		return false;
	if (!g.back_ref)
		return true;
	if (bpf_probe_read_user(&priv, sizeof(priv), (void *)(session + g.priv_off)) || !priv ||
	    bpf_probe_read_user(&back, sizeof(back), (void *)(priv + g.back_off)))
		return false;
	return back == session;
}

#endif
