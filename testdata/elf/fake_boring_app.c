/* Test input: a non-PIE executable with "BoringSSL" linked in statically (like Envoy): its
 * functions only in .symtab, with libcrypto's CRYPTO_BUFFER_free and no SSL_CTX_set_grease_enabled. */
#include <stddef.h>

int SSL_read(void *ssl, void *buf, int num);
int SSL_write(void *ssl, const void *buf, int num);

void CRYPTO_BUFFER_free(void *buf)
{
	*(char *)buf = 0;
}

int main(int argc, char **argv)
{
	char buf[16];

	CRYPTO_BUFFER_free(buf);
	return SSL_read(argv, buf, argc) + SSL_write(argv, buf, argc) > 0 ? 0 : 1;
}
