/* The list of TLS libraries (one line each) and lookups by func_id over it. */
#include <stdio.h>
#include <string.h>
#include <linux/types.h>
#include "tlstap.h"
#include "probe_table.h"

extern const struct tls_lib tls_lib_openssl;
extern const struct tls_lib tls_lib_gnutls;
extern const struct tls_lib tls_lib_boringssl;
extern const struct tls_lib tls_lib_nss;
extern const struct tls_lib tls_lib_go;

/* Adding a library: its file in collector/libs/ and one line here. The
 * order fixes func_ids within a run only: outputs name functions. */
const struct tls_lib *const tls_libs[] = {
	&tls_lib_openssl,
	&tls_lib_gnutls,
	&tls_lib_boringssl,
	&tls_lib_nss,
	&tls_lib_go,
};

const int tls_libs_n = sizeof(tls_libs) / sizeof(tls_libs[0]);

/* func_ids fit the events' and cookies' __u8, PROBE_FUNC_NONE left over. */
_Static_assert(sizeof(tls_libs) / sizeof(tls_libs[0]) * TLS_LIB_MAX_FUNCS <= PROBE_FUNC_NONE,
	       "too many libraries for a __u8 func_id");
_Static_assert(TLS_LIB_MAX_FUNCS <= 256, "function index in a func_id");

int tls_lib_func(const struct tls_lib *lib, const char *name, int outlen_arg)
{
	int i;

	for (i = 0; i < lib->nfuncs; i++)
		if (!strcmp(lib->funcs[i].name, name) &&
		    (outlen_arg < 0 || lib->funcs[i].outlen_arg == outlen_arg))
			return i;
	return -1;
}

int probe_lib_by_name(const char *name)
{
	int l;

	for (l = 0; l < tls_libs_n; l++)
		if (!strcmp(tls_libs[l]->name, name))
			return l;
	return -1;
}

const struct tls_func *probe_func(uint8_t func_id, int *lib)
{
	int l = func_id / TLS_LIB_MAX_FUNCS, fi = func_id % TLS_LIB_MAX_FUNCS;

	if (l >= tls_libs_n || fi >= tls_libs[l]->nfuncs)
		return NULL;
	if (lib)
		*lib = l;
	return &tls_libs[l]->funcs[fi];
}

const char *probe_func_name(uint8_t func_id)
{
	const struct tls_func *f = probe_func(func_id, NULL);

	return f ? f->name : "?";
}

const char *probe_func_lib_name(uint8_t func_id)
{
	int lib;

	return probe_func(func_id, &lib) ? tls_libs[lib]->name : "?";
}

uint8_t probe_func_id_by_name(const char *name)
{
	int l, fi;

	for (l = 0; l < tls_libs_n; l++) {
		fi = tls_lib_func(tls_libs[l], name, -1);
		if (fi >= 0)
			return probe_func_id(l, fi);
	}
	return PROBE_FUNC_NONE;
}

uint64_t probe_cookie(int lib, int fi)
{
	const struct tls_func *f = &tls_libs[lib]->funcs[fi];
	struct tlstap_cookie ck = {
		.func_id = probe_func_id(lib, fi), .dir = f->dir, .session_arg = f->session_arg,
		.buf_arg = f->buf_arg, .len_arg = f->len_arg, .outlen_arg = f->outlen_arg,
		.result = f->result, .buf_kind = f->buf_kind,
	};
	uint64_t raw;

	memcpy(&raw, &ck, sizeof(raw));
	return raw;
}

char *probe_libs_join(char *buf, size_t len, size_t field, const char *sep, const char *last)
{
	size_t n = 0;
	int l;

	buf[0] = '\0';
	for (l = 0; l < tls_libs_n && n < len; l++) {
		const char *s = *(const char *const *)((const char *)tls_libs[l] + field);

		n += snprintf(buf + n, len - n, "%s%s", l == 0 ? "" : l == tls_libs_n - 1 ? last : sep, s);
	}
	return buf;
}

bool probe_libs_file_name(const char *base)
{
	const char *const *p;
	int l;

	for (l = 0; l < tls_libs_n; l++)
		for (p = tls_libs[l]->file_prefixes; *p; p++)
			if (!strncmp(base, *p, strlen(*p)))
				return true;
	return false;
}
