/* A stand-in libssl for tests that need control over a TLS library's calls:
 * the "session" points at an fd; SSL_read calls a hook before it returns. */
#include <stddef.h>
#include <unistd.h>

void (*ssl_read_hook)(void);

__attribute__((noinline)) int SSL_read(void *ssl, void *buf, int num)
{
	int n = (int)read(*(int *)ssl, buf, (size_t)num);

	if (ssl_read_hook)
		ssl_read_hook();
	return n;
}

__attribute__((noinline)) int SSL_write(void *ssl, const void *buf, int num)
{
	return (int)write(*(int *)ssl, buf, (size_t)num);
}
