/* HTTP/1 start lines, header lines and the values framing rests on: strict parsing of one line without its CRLF. */
#ifndef TLSTAP_HTTP1_LINE_H
#define TLSTAP_HTTP1_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Pieces point into the line; lengths exclude delimiters. */
struct h1_reqline {
	const char *method, *target;
	size_t method_len, target_len;
	int minor;		/* HTTP/1.minor: 0 or 1 */
};

struct h1_statusline {
	int minor;
	int status;
};

struct h1_field {
	const char *name, *value;
	size_t name_len, value_len;	/* value without surrounding whitespace */
};

bool h1_is_tchar(unsigned char c);
/* Each returns 0 or -EINVAL. */
int h1_parse_request_line(const char *l, size_t n, struct h1_reqline *r);
int h1_parse_status_line(const char *l, size_t n, struct h1_statusline *s);
int h1_parse_field(const char *l, size_t n, struct h1_field *f);
/* Whether the bytes at p (n available) begin with a well-known method and a space. */
bool h1_known_method(const char *p, size_t n);
/* Content-Length: digits, or a list of equal ones. Returns 0 or -EINVAL. */
int h1_parse_content_length(const char *v, size_t len, uint64_t *out);
/* Whether the last coding of a Transfer-Encoding list is chunked. */
bool h1_last_coding_is_chunked(const char *v, size_t len);
/* The token v begins with, lower-cased and cut to fit dst (size bytes, NUL-terminated). */
void h1_lower_token(char *dst, size_t size, const char *v, size_t len);
/* A chunk-size line: hex digits, then extensions that are ignored. Returns 0 or -EINVAL. */
int h1_parse_chunk_size(const char *l, size_t n, uint64_t *size);

#endif
