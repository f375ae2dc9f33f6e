/* Test input: a stand-in for libssl (OpenSSL >= 1.1.1) exporting the four probed functions. */
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

int SSL_read_ex(void *ssl, void *buf, size_t num, size_t *readbytes)
{
	if (readbytes)
		*readbytes = ssl && buf ? num : 0;
	return readbytes != NULL;
}

int SSL_write_ex(void *ssl, const void *buf, size_t num, size_t *written)
{
	if (written)
		*written = ssl && buf ? num / 2 : 0;
	return written != NULL;
}
