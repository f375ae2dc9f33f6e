/* Test input: a stand-in for OpenSSL 1.1.0's libssl, which has no _ex functions. */

int SSL_read(void *ssl, void *buf, int num)
{
	return num > 0 && ssl && buf ? num : -1;
}

int SSL_write(void *ssl, const void *buf, int num)
{
	return num > 0 && ssl && buf ? num : -2;
}
