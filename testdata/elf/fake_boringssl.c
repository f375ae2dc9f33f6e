/* Test input: a stand-in for BoringSSL's libssl: OpenSSL's pair plus a function only BoringSSL has. */
#include <stddef.h>

/* Distinct bodies so no two symbols can share an address. */
int SSL_read(void *ssl, void *buf, int num)
{
	return num > 0 && ssl && buf ? num : -1;
}

int SSL_write(void *ssl, const void *buf, int num)
{
	return num > 0 && ssl && buf ? num : -2;
}

void SSL_CTX_set_grease_enabled(void *ctx, int enabled)
{
	*(int *)ctx = enabled;
}
