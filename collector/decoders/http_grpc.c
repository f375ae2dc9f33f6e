/* gRPC over HTTP: content-type test, service/method from :path, grpc-message decoding, message counts. */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include "http_grpc.h"

bool grpc_is_content_type(const char *v, size_t len)
{
	static const char pfx[] = "application/grpc";
	size_t n = sizeof(pfx) - 1;

	/* Exactly the prefix, or followed by a subtype separator, not "application/grpcx". */
	if (len < n || strncasecmp(v, pfx, n))
		return false;
	return len == n || v[n] == '+' || v[n] == '-' || v[n] == ';';
}

int grpc_split_path(const char *path, char *service, char *method, size_t size)
{
	const char *slash;
	size_t slen, mlen;

	if (!path || path[0] != '/' || !size)
		return -EINVAL;
	slash = strchr(path + 1, '/');
	if (!slash)
		return -EINVAL;
	slen = (size_t)(slash - (path + 1));
	mlen = strlen(slash + 1);
	if (!slen || !mlen || strchr(slash + 1, '/') || strchr(slash + 1, '?'))
		return -EINVAL;
	if (slen >= size || mlen >= size)
		return -EINVAL;
	memcpy(service, path + 1, slen);
	service[slen] = '\0';
	memcpy(method, slash + 1, mlen + 1);
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void grpc_percent_decode(const char *src, char *dst, size_t size)
{
	size_t o = 0;
	int hi, lo;

	if (!size)
		return;
	while (*src && o + 1 < size) {
		if (src[0] == '%' && (hi = hexval(src[1])) >= 0 && (lo = hexval(src[2])) >= 0) {
			dst[o++] = (char)(hi << 4 | lo);
			src += 3;
		} else {
			dst[o++] = *src++;
		}
	}
	dst[o] = '\0';
}

int grpc_parse_status(const char *v, size_t len)
{
	long n = 0;
	size_t i;

	if (!len || len > 10)
		return -1;
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		n = n * 10 + (v[i] - '0');
	}
	return n > 0x7fffffff ? -1 : (int)n;
}

static void message_done(struct grpc_count *g)
{
	/* gRPC-Web carries its trailers as a frame with the top flag bit set: not a message. */
	if (!(g->hdr[0] & 0x80))
		g->msgs++;
	g->have = 0;
}

void grpc_count_feed(struct grpc_count *g, const uint8_t *p, size_t n)
{
	size_t k;

	while (n && !g->lost) {
		if (g->have < 5) {
			g->hdr[g->have++] = *p++;
			n--;
			if (g->have == 5) {
				g->left = (uint64_t)g->hdr[1] << 24 | (uint64_t)g->hdr[2] << 16 |
					  (uint64_t)g->hdr[3] << 8 | g->hdr[4];
				if (!g->left)
					message_done(g);
			}
			continue;
		}
		k = n < g->left ? n : (size_t)g->left;
		g->left -= k;
		p += k;
		n -= k;
		if (!g->left)
			message_done(g);
	}
}

void grpc_count_gap(struct grpc_count *g, uint64_t n)
{
	/* Only a hole inside one message's payload keeps the framing. */
	if (g->have == 5 && n <= g->left) {
		g->left -= n;
		if (!g->left)
			message_done(g);
	} else
		g->lost = true;
}
