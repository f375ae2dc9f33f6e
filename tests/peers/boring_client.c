/* A BoringSSL HTTPS client for the e2e tests: GET one file from 127.0.0.1, save the body and the bytes really sent and received. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include "boring_http.h"

/* boring_client PORT PATH OUT: OUT gets the body, OUT.sent and OUT.received every byte. */
int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct bytes sent = {}, got = {};
	char req[4096];
	size_t body;
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: boring_client PORT PATH OUT\n");
		return 2;
	}
	sa.sin_port = htons((unsigned short)atoi(argv[1]));
	ctx = SSL_CTX_new(TLS_method());
	if (!ctx)
		die("SSL_CTX_new");
	/* The peers' certificate is the tests' own, self-signed. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("connect");
	ssl = SSL_new(ctx);
	if (!ssl || !SSL_set_fd(ssl, fd) || SSL_connect(ssl) != 1)
		die("SSL_connect");
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
		 argv[2]);
	ssl_send(ssl, req, strlen(req), &sent);
	body = ssl_read_message(ssl, &got);
	SSL_shutdown(ssl);
	SSL_free(ssl);
	close(fd);
	SSL_CTX_free(ctx);
	save(argv[3], got.p + body, got.len - body);
	save(name_with(argv[3], ".sent"), sent.p, sent.len);
	save(name_with(argv[3], ".received"), got.p, got.len);
	return 0;
}
