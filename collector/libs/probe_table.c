/* The probe table: one row per probed function, its id is its index. */
#include <stddef.h>
#include <string.h>
#include <linux/types.h>
#include "tlstap.h"
#include "probe_table.h"

const struct probe_func probe_funcs[] = {
	/* OpenSSL 1.1.0 has no _ex functions: they are optional. */
	{ "SSL_write", TLSTAP_LIB_OPENSSL, TLSTAP_DIR_OUT, TLSTAP_RET_COUNT, true, false },
	{ "SSL_read", TLSTAP_LIB_OPENSSL, TLSTAP_DIR_IN, TLSTAP_RET_COUNT, true, false },
	{ "SSL_write_ex", TLSTAP_LIB_OPENSSL, TLSTAP_DIR_OUT, TLSTAP_RET_EX, false, false },
	{ "SSL_read_ex", TLSTAP_LIB_OPENSSL, TLSTAP_DIR_IN, TLSTAP_RET_EX, false, false },
	/*
	 * GnuTLS: gnutls_record_send jumps to gnutls_record_send2 (3.6.3+); both
	 * are probed for older versions and captured once (see tls_entry). Not
	 * probed: gnutls_record_recv_packet (zero-copy, the data is read later
	 * through gnutls_packet_get) and gnutls_record_send_file (kernel TLS).
	 */
	{ "gnutls_record_send", TLSTAP_LIB_GNUTLS, TLSTAP_DIR_OUT, TLSTAP_RET_SSIZE, true, false },
	{ "gnutls_record_recv", TLSTAP_LIB_GNUTLS, TLSTAP_DIR_IN, TLSTAP_RET_SSIZE, true, false },
	{ "gnutls_record_send2", TLSTAP_LIB_GNUTLS, TLSTAP_DIR_OUT, TLSTAP_RET_SSIZE, false, false },
	{ "gnutls_record_recv_seq", TLSTAP_LIB_GNUTLS, TLSTAP_DIR_IN, TLSTAP_RET_SSIZE, false, false },
	{ "gnutls_record_send_range", TLSTAP_LIB_GNUTLS, TLSTAP_DIR_OUT, TLSTAP_RET_SSIZE, false, false },
	{ "gnutls_record_send_early_data", TLSTAP_LIB_GNUTLS, TLSTAP_DIR_OUT, TLSTAP_RET_SSIZE, false, false },
	{ "gnutls_record_recv_early_data", TLSTAP_LIB_GNUTLS, TLSTAP_DIR_IN, TLSTAP_RET_SSIZE, false, false },
	/*
	 * OpenSSL's internal functions behind SSL_read/SSL_read_ex (and the SSL
	 * BIO) and SSL_write/SSL_write_ex: cheaper to probe (see placement.c).
	 * Internal: their addresses come from the wrappers' code, never from a
	 * symbol. ssl_write_internal takes written as its 5th argument from 3.3.
	 */
	{ "ssl_read_internal", TLSTAP_LIB_OPENSSL, TLSTAP_DIR_IN, TLSTAP_RET_EX, false, true },
	{ "ssl_write_internal", TLSTAP_LIB_OPENSSL, TLSTAP_DIR_OUT, TLSTAP_RET_EX, false, true },
	{ "ssl_write_internal", TLSTAP_LIB_OPENSSL, TLSTAP_DIR_OUT, TLSTAP_RET_EX5, false, true },
};

const int probe_funcs_n = sizeof(probe_funcs) / sizeof(probe_funcs[0]);

const char *probe_lib_name(uint8_t lib)
{
	switch (lib) {
	case TLSTAP_LIB_OPENSSL:
		return "openssl";
	case TLSTAP_LIB_GNUTLS:
		return "gnutls";
	default:
		return "?";
	}
}

int probe_func_id(const char *name, uint8_t style)
{
	int i;

	for (i = 0; i < probe_funcs_n; i++)
		if (!strcmp(probe_funcs[i].name, name) && probe_funcs[i].style == style)
			return i;
	return -1;
}

const char *probe_func_name(uint8_t func_id)
{
	return func_id < probe_funcs_n ? probe_funcs[func_id].name : "?";
}
