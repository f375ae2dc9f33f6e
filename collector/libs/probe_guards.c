/* The guards table the BPF side reads by func_id, filled from the library entries. */
#include <string.h>
#include <linux/types.h>
#include "tlstap.h"
#include "probe_guards.h"
#include "probe_table.h"

void probe_guards_fill(uint64_t *g, size_t n)
{
	const struct tls_guard *src;
	struct tlstap_guard one;
	size_t id;
	int l, fi;

	memset(g, 0, n * sizeof(*g));
	for (l = 0; l < tls_libs_n; l++) {
		for (fi = 0; fi < tls_libs[l]->nfuncs; fi++) {
			id = probe_func_id(l, fi);
			if (id >= n)
				continue;
			src = &tls_libs[l]->funcs[fi].guard;
			one = (struct tlstap_guard){
				.back_ref = src->back_ref, .skip_arg = src->skip_arg,
				.priv_off = src->priv_off, .back_off = src->back_off,
				.skip_mask = src->skip_mask,
			};
			memcpy(&g[id], &one, sizeof(one));
		}
	}
}
