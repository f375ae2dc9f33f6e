/* A BoringSSL HTTPS server for the e2e tests: one request with a body, answered with a file; logs the bytes really moved. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include "boring_http.h"

/* The whole file at path. */
static struct bytes slurp(const char *path)
{
	struct bytes b = {};
	char buf[65536];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (!f)
		die(path);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		bytes_add(&b, buf, n);
	fclose(f);
	return b;
}

/* Listening on 127.0.0.1, a port of the kernel's choice: printed on stdout. */
static int listen_any(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1) ||
	    getsockname(fd, (struct sockaddr *)&sa, &len))
		die("listen");
	printf("%d\n", ntohs(sa.sin_port));
	fflush(stdout);
	return fd;
}

/*
 * boring_server CERT KEY FILE LOG: answers one request (with a body) with
 * FILE, then says "closed" once its last TLS call returned; LOG.in and
 * LOG.out get every byte received and sent.
 */
int main(int argc, char **argv)
{
	struct bytes file, sent = {}, got = {};
	char head[256];
	SSL_CTX *ctx;
	SSL *ssl;
	int lfd, fd;

	if (argc != 5) {
		fprintf(stderr, "usage: boring_server CERT KEY FILE LOG\n");
		return 2;
	}
	file = slurp(argv[3]);
	ctx = SSL_CTX_new(TLS_method());
	if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, argv[1]) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, argv[2], SSL_FILETYPE_PEM) != 1)
		die("certificate");
	lfd = listen_any();
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		die("accept");
	ssl = SSL_new(ctx);
	if (!ssl || !SSL_set_fd(ssl, fd) || SSL_accept(ssl) != 1)
		die("SSL_accept");
	ssl_read_message(ssl, &got);
	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		 file.len);
	ssl_send(ssl, head, strlen(head), &sent);
	ssl_send(ssl, file.p, file.len, &sent);
	SSL_shutdown(ssl);
	SSL_free(ssl);
	close(fd);
	close(lfd);
	SSL_CTX_free(ctx);
	save(name_with(argv[4], ".in"), got.p, got.len);
	save(name_with(argv[4], ".out"), sent.p, sent.len);
	printf("closed\n");
	fflush(stdout);
	return 0;
}
