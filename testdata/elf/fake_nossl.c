/*
 * Test input: a library with no SSL_read/SSL_write functions, only look-alikes
 * that a lookup must not take for them: a data object named SSL_read, a
 * function whose name merely starts with SSL_write, and an undefined
 * (imported) SSL_read_ex.
 */
int SSL_read = 42;

int SSL_read_ex(void *ssl, void *buf, unsigned long num, unsigned long *readbytes);

int SSL_writev(void *ssl, const void *buf, int num)
{
	return num > 0 && ssl && buf ? num : -3;
}

int not_ssl_call_import(void)
{
	unsigned long n = 0;

	return SSL_read_ex(0, 0, 0, &n) + SSL_read;
}
