/* Test input: a non-PIE executable with "OpenSSL" linked in statically (like node). */
#include <stddef.h>

int SSL_read(void *ssl, void *buf, int num);
int SSL_write(void *ssl, const void *buf, int num);

int main(int argc, char **argv)
{
	char buf[16];

	return SSL_read(argv, buf, argc) + SSL_write(argv, buf, argc) > 0 ? 0 : 1;
}
