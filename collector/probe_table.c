/* The probe table: one row per probed function, its id is its index. */
#include <stddef.h>
#include <linux/types.h>
#include "tlstap.h"
#include "probe_table.h"

const struct probe_func probe_funcs[] = {
	/* OpenSSL 1.1.0 has no _ex functions: they are optional. */
	{ "SSL_write", TLSTAP_LIB_OPENSSL, TLSTAP_DIR_OUT, TLSTAP_RET_COUNT, true },
	{ "SSL_read", TLSTAP_LIB_OPENSSL, TLSTAP_DIR_IN, TLSTAP_RET_COUNT, true },
	{ "SSL_write_ex", TLSTAP_LIB_OPENSSL, TLSTAP_DIR_OUT, TLSTAP_RET_EX, false },
	{ "SSL_read_ex", TLSTAP_LIB_OPENSSL, TLSTAP_DIR_IN, TLSTAP_RET_EX, false },
	/*
	 * GnuTLS: gnutls_record_send jumps to gnutls_record_send2 (3.6.3+); both
	 * are probed for older versions and captured once (see tls_entry). Not
	 * probed: gnutls_record_recv_packet (zero-copy, the data is read later
	 * through gnutls_packet_get) and gnutls_record_send_file (kernel TLS).
	 */
	{ "gnutls_record_send", TLSTAP_LIB_GNUTLS, TLSTAP_DIR_OUT, TLSTAP_RET_SSIZE, true },
	{ "gnutls_record_recv", TLSTAP_LIB_GNUTLS, TLSTAP_DIR_IN, TLSTAP_RET_SSIZE, true },
	{ "gnutls_record_send2", TLSTAP_LIB_GNUTLS, TLSTAP_DIR_OUT, TLSTAP_RET_SSIZE, false },
	{ "gnutls_record_recv_seq", TLSTAP_LIB_GNUTLS, TLSTAP_DIR_IN, TLSTAP_RET_SSIZE, false },
	{ "gnutls_record_send_range", TLSTAP_LIB_GNUTLS, TLSTAP_DIR_OUT, TLSTAP_RET_SSIZE, false },
	{ "gnutls_record_send_early_data", TLSTAP_LIB_GNUTLS, TLSTAP_DIR_OUT, TLSTAP_RET_SSIZE, false },
	{ "gnutls_record_recv_early_data", TLSTAP_LIB_GNUTLS, TLSTAP_DIR_IN, TLSTAP_RET_SSIZE, false },
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

const char *probe_func_name(uint8_t func_id)
{
	return func_id < probe_funcs_n ? probe_funcs[func_id].name : "?";
}
