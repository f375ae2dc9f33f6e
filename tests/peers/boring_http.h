/* What the BoringSSL test peers share: one HTTP/1.1 message with a Content-Length read whole over SSL, and files for the truth. */
#ifndef TLSTAP_BORING_HTTP_H
#define TLSTAP_BORING_HTTP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

/* Bytes read or written on one connection, in order: what really went over it. */
struct bytes {
	unsigned char *p;
	size_t len, cap;
};

static inline void die(const char *what)
{
	fprintf(stderr, "%s failed\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static inline void bytes_add(struct bytes *b, const void *data, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			die("realloc");
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

/* Writes all of data with SSL_write in chunks of up to 64 KiB, and logs it in sent. */
static inline void ssl_send(SSL *ssl, const void *data, size_t n, struct bytes *sent)
{
	const unsigned char *p = data;
	size_t chunk;
	int r;

	while (n) {
		chunk = n < 65536 ? n : 65536;
		r = SSL_write(ssl, p, (int)chunk);
		if (r <= 0)
			die("SSL_write");
		bytes_add(sent, p, (size_t)r);
		p += r;
		n -= (size_t)r;
	}
}

/* Reads one HTTP/1.1 message (head and a Content-Length body) onto got, with SSL_read
 * in chunks of 16 KiB; returns where its body starts in got. */
static inline size_t ssl_read_message(SSL *ssl, struct bytes *got)
{
	unsigned char buf[16384];
	size_t start = got->len, body = 0, want = 0;
	const char *cl;
	char *end;
	int r;

	while (!body || got->len - start < body + want) {
		r = SSL_read(ssl, buf, sizeof(buf));
		if (r <= 0)
			die("SSL_read");
		bytes_add(got, buf, (size_t)r);
		if (body)
			continue;
		bytes_add(got, "", 1);	/* a NUL to search the head, not counted */
		got->len--;
		end = strstr((char *)got->p + start, "\r\n\r\n");
		if (!end)
			continue;
		body = (size_t)(end + 4 - (char *)got->p) - start;
		cl = strcasestr((char *)got->p + start, "\r\nContent-Length:");
		if (!cl || cl > end)
			die("Content-Length");
		want = strtoul(cl + 17, NULL, 10);
	}
	if (got->len - start != body + want)
		die("one message");	/* nothing may follow it */
	return start + body;
}

/* Writes n bytes of data to path. */
static inline void save(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(data, 1, n, f) != n || fclose(f))
		die(path);
}

/* prefix and suffix, for the files a peer leaves. */
static inline const char *name_with(const char *prefix, const char *suffix)
{
	static char buf[2][4096];
	static int next;
	char *out = buf[next++ % 2];

	snprintf(out, sizeof(buf[0]), "%s%s", prefix, suffix);
	return out;
}

#endif
