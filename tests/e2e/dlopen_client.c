/*
 * A TLS client that loads OpenSSL with dlopen() after it started, from a
 * path given (a copy no scan of tlstap's looked at): for the test of a
 * library mapped later. Usage: dlopen_client LIBSSL PORT SIZE OUTDIR [early].
 * Loads LIBSSL, prints "loaded", waits for a line on stdin, then POSTs
 * SIZE random bytes over one connection to 127.0.0.1:PORT (the tests' echo
 * server), reads the whole response, writes what it sent and received to
 * OUTDIR/dlopen.out and .in, prints "done" and exits 0. With "early", the
 * TCP connection is made before LIBSSL is loaded (its socket is open when
 * tlstap probes the library).
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define NEED(h, name) need(h, #name)

static void *need(void *h, const char *name)
{
	void *f = dlsym(h, name);

	if (!f) {
		fprintf(stderr, "%s: %s\n", name, dlerror());
		exit(1);
	}
	return f;
}

static void save(const char *dir, const char *name, const char *buf, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f))
		exit(1);
}

static int connect_to(const struct sockaddr_in *sa, int *fd)
{
	*fd = socket(AF_INET, SOCK_STREAM, 0);
	return *fd < 0 || connect(*fd, (const struct sockaddr *)sa, sizeof(*sa));
}

int main(int argc, char **argv)
{
	void *(*client_method)(void), *(*ctx_new)(void *), *(*ssl_new)(void *);
	int (*set_fd)(void *, int), (*connect_)(void *), (*write_)(void *, const void *, int);
	int (*read_)(void *, void *, int);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	size_t size, hlen, got = 0, want;
	char *req, *resp, line[16];
	void *h, *ssl;
	int fd = -1, n;

	if (argc != 5 && argc != 6)
		return 2;
	sa.sin_port = htons((unsigned short)atoi(argv[2]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (argc == 6 && connect_to(&sa, &fd))
		return 1;
	h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "%s\n", dlerror());
		return 1;
	}
	client_method = NEED(h, TLS_client_method);
	ctx_new = NEED(h, SSL_CTX_new);
	ssl_new = NEED(h, SSL_new);
	set_fd = NEED(h, SSL_set_fd);
	connect_ = NEED(h, SSL_connect);
	write_ = NEED(h, SSL_write);
	read_ = NEED(h, SSL_read);
	printf("loaded\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	size = strtoul(argv[3], NULL, 10);
	req = malloc(size + 256);
	resp = malloc(size + 512);
	hlen = (size_t)snprintf(req, 256, "POST /dlopen HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				"Content-Length: %zu\r\nConnection: close\r\n\r\n", size);
	srand(11);
	for (size_t i = 0; i < size; i++)
		req[hlen + i] = (char)rand();
	if (argc == 5 && connect_to(&sa, &fd))
		return 1;
	ssl = ssl_new(ctx_new(client_method()));
	if (!ssl || set_fd(ssl, fd) != 1 || connect_(ssl) != 1)
		return 1;
	if (write_(ssl, req, (int)(hlen + size)) != (int)(hlen + size))
		return 1;
	/* The echo server answers with a fixed header and the body. */
	want = (size_t)snprintf(resp, 512, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
				"Content-Length: %zu\r\n\r\n", size) + size;
	while (got < want && (n = read_(ssl, resp + got, (int)(want - got))) > 0)
		got += (size_t)n;
	if (got != want || memcmp(resp + want - size, req + hlen, size))
		return 1;
	save(argv[4], "dlopen.out", req, hlen + size);
	save(argv[4], "dlopen.in", resp, got);
	printf("done\n");
	return 0;
}
