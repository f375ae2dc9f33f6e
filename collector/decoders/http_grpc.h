/* gRPC over HTTP: content-type test, service/method from :path, grpc-message decoding, message counts. */
#ifndef TLSTAP_HTTP_GRPC_H
#define TLSTAP_HTTP_GRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Counts length-prefixed messages (1 flag byte, u32 big-endian length) in one body. */
struct grpc_count {
	uint8_t hdr[5];
	uint8_t have;		/* prefix bytes seen of the current message */
	uint64_t left;		/* payload bytes still to come */
	uint32_t msgs;
	bool lost;		/* a gap broke the framing: counting stopped */
};

/* application/grpc, application/grpc+proto, application/grpc-web... */
bool grpc_is_content_type(const char *v, size_t len);
/*
 * "/pkg.Service/Method" into service and method, each NUL-terminated in
 * its own buffer of size bytes. Returns 0 or -EINVAL when path has another shape.
 */
int grpc_split_path(const char *path, char *service, char *method, size_t size);
/* Percent-decodes src into dst (size bytes, NUL-terminated); bad escapes stay as they are. */
void grpc_percent_decode(const char *src, char *dst, size_t size);
/* "0".."2147483647" or -1. */
int grpc_parse_status(const char *v, size_t len);

void grpc_count_feed(struct grpc_count *g, const uint8_t *p, size_t n);
/* n bytes of the body are missing. */
void grpc_count_gap(struct grpc_count *g, uint64_t n);

#endif
