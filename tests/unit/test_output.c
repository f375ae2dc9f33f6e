/* Unit tests of the printers: base64, JSON strings, addresses, and the lines flows produce. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "jsonline.h"
#include "output.h"
#include "raw_view.h"

/* ---- Independent decoders: what a consumer of tlstap's output would run. */

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Strict RFC 4648 decoding (padding required); returns the length or -1. */
static long b64_decode(const char *s, __u8 *out)
{
	size_t n = strlen(s), i;
	long len = 0;
	int v[4], k;

	if (n % 4)
		return -1;
	for (i = 0; i < n; i += 4) {
		for (k = 0; k < 4; k++) {
			v[k] = b64val(s[i + k]);
			if (v[k] < 0 && !(s[i + k] == '=' && i + 4 == n && k >= 2))
				return -1;
		}
		if (v[2] < 0 && v[3] >= 0)
			return -1;
		out[len++] = (__u8)(v[0] << 2 | v[1] >> 4);
		if (v[2] >= 0)
			out[len++] = (__u8)(v[1] << 4 | v[2] >> 2);
		if (v[3] >= 0)
			out[len++] = (__u8)(v[2] << 6 | v[3]);
	}
	return len;
}

/*
 * Parses a JSON string literal at *p (RFC 8259), advancing *p past it. Every
 * \u escape must stand for one byte (< 0x100): tlstap writes bytes, not text.
 * Returns the decoded length, or -1 when it is not valid JSON.
 */
static long json_parse_string(const char **p, char *out, size_t cap)
{
	const char *s = *p;
	size_t len = 0;
	unsigned v;
	int i;

	if (*s++ != '"')
		return -1;
	for (;;) {
		unsigned char c = (unsigned char)*s++;

		if (len + 1 >= cap)
			return -1;
		if (c == '"')
			break;
		if (c < 0x20)		/* raw control bytes (and the end) are invalid */
			return -1;
		if (c != '\\') {
			out[len++] = (char)c;
			continue;
		}
		switch (*s++) {
		case '"': out[len++] = '"'; break;
		case '\\': out[len++] = '\\'; break;
		case '/': out[len++] = '/'; break;
		case 'b': out[len++] = '\b'; break;
		case 'f': out[len++] = '\f'; break;
		case 'n': out[len++] = '\n'; break;
		case 'r': out[len++] = '\r'; break;
		case 't': out[len++] = '\t'; break;
		case 'u':
			v = 0;
			for (i = 0; i < 4; i++) {
				int ch = (unsigned char)*s++;

				if (ch >= '0' && ch <= '9')
					v = v * 16 + (unsigned)(ch - '0');
				else if (ch >= 'a' && ch <= 'f')
					v = v * 16 + (unsigned)(ch - 'a' + 10);
				else if (ch >= 'A' && ch <= 'F')
					v = v * 16 + (unsigned)(ch - 'A' + 10);
				else
					return -1;
			}
			if (v > 0xff)
				return -1;
			out[len++] = (char)v;
			break;
		default:
			return -1;
		}
	}
	out[len] = '\0';
	*p = s;
	return (long)len;
}

/* A flat JSON object on one line: string, integer, null or boolean values. */
#define MAX_FIELDS	32
struct jobj {
	int n;
	char key[MAX_FIELDS][32];
	char val[MAX_FIELDS][4096];	/* decoded strings; numbers and literals as written */
	long vlen[MAX_FIELDS];
	int is_str[MAX_FIELDS];
};

static int json_parse_object(const char *line, struct jobj *o)
{
	const char *p = line, *start;

	memset(o, 0, sizeof(*o));
	if (*p++ != '{')
		return -1;
	if (*p == '}')
		return p[1] == '\0' ? 0 : -1;
	for (;;) {
		if (o->n == MAX_FIELDS || json_parse_string(&p, o->key[o->n], sizeof(o->key[0])) < 0)
			return -1;
		if (*p++ != ':')
			return -1;
		if (*p == '"') {
			o->vlen[o->n] = json_parse_string(&p, o->val[o->n], sizeof(o->val[0]));
			if (o->vlen[o->n] < 0)
				return -1;
			o->is_str[o->n] = 1;
		} else {
			start = p;
			if (!strncmp(p, "null", 4) || !strncmp(p, "true", 4)) {
				p += 4;
			} else if (!strncmp(p, "false", 5)) {
				p += 5;
			} else {
				if (*p == '-')
					p++;
				if (*p < '0' || *p > '9' || (*p == '0' && p[1] >= '0' && p[1] <= '9'))
					return -1;
				while (*p >= '0' && *p <= '9')
					p++;
			}
			if ((size_t)(p - start) >= sizeof(o->val[0]))
				return -1;
			memcpy(o->val[o->n], start, p - start);
			o->vlen[o->n] = p - start;
		}
		o->n++;
		if (*p == '}')
			return p[1] == '\0' ? 0 : -1;
		if (*p++ != ',')
			return -1;
	}
}

static const char *jget(const struct jobj *o, const char *key)
{
	int i;

	for (i = 0; i < o->n; i++)
		if (!strcmp(o->key[i], key))
			return o->val[i];
	fail_msg("no field \"%s\"", key);
	return NULL;
}

static int jis_str(const struct jobj *o, const char *key)
{
	int i;

	for (i = 0; i < o->n; i++)
		if (!strcmp(o->key[i], key))
			return o->is_str[i];
	return -1;
}

/* ---- A memory FILE and its lines. */

struct capture {
	char *buf;
	size_t len;
	FILE *f;
};

static void cap_open(struct capture *c)
{
	memset(c, 0, sizeof(*c));
	c->f = open_memstream(&c->buf, &c->len);
	assert_non_null(c->f);
}

static void cap_close(struct capture *c)
{
	fclose(c->f);
	free(c->buf);
}

/* The lines so far, split in place in a copy; returns how many. */
static int cap_lines(struct capture *c, char ***lines)
{
	char *copy, *save = NULL, *l;
	int n = 0;

	fflush(c->f);
	copy = malloc(c->len + 1);
	assert_non_null(copy);
	memcpy(copy, c->buf, c->len);
	copy[c->len] = '\0';
	/* Every line is complete. */
	assert_true(c->len == 0 || copy[c->len - 1] == '\n');
	*lines = calloc(c->len + 2, sizeof(char *));
	assert_non_null(*lines);
	for (l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		(*lines)[n++] = l;
	if (n == 0)
		free(copy);
	return n;
}

static void free_lines(char **lines, int n)
{
	if (n)
		free(lines[0]);
	free(lines);
}

/* ---- Tests */

static void test_output_base64_rfc4648_vectors(void **state)
{
	static const struct { const char *in, *out; } v[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	char out[16];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		memset(out, 'X', sizeof(out));
		output_base64(out, (const __u8 *)v[i].in, strlen(v[i].in));
		assert_string_equal(out, v[i].out);
	}
	/* High bits and the last two alphabet letters. */
	output_base64(out, (const __u8 *)"\xfb\xff\xbf", 3);
	assert_string_equal(out, "+/+/");
}

/*
 * Every length 0..1100 (and the largest chunk) of bytes covering every
 * value decodes back, into exactly the documented size: both the vector
 * steps (24 bytes, on CPUs with AVX2) and the tail after them.
 */
static void test_output_base64_roundtrip_exact_size(void **state)
{
	static __u8 in[TLSTAP_CHUNK_MAX], back[TLSTAP_CHUNK_MAX];
	size_t len, need, i;
	char *out;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (__u8)(i * 167 + 13 + (i >> 9) * 31);
	for (len = 0; len <= sizeof(in); len = len < 1100 ? len + 1 : len < sizeof(in) - 3 ? sizeof(in) - 3 : len + 1) {
		need = 4 * ((len + 2) / 3) + 1;
		out = malloc(need);	/* exactly: ASan catches a byte too many */
		assert_non_null(out);
		output_base64(out, in, len);
		assert_int_equal(strlen(out), need - 1);
		assert_int_equal(b64_decode(out, back), len);
		assert_memory_equal(back, in, len);
		free(out);
	}
}

static char *json_string_of(const char *s, size_t len)
{
	struct jsonline l = { 0 };
	char *r;

	jl_string(&l, s, len);
	assert_false(l.failed);
	r = strndup(l.p, l.len);
	jl_free(&l);
	return r;
}

static void test_output_json_string_escapes(void **state)
{
	char *s;

	s = json_string_of("plain", 5);
	assert_string_equal(s, "\"plain\"");
	free(s);
	s = json_string_of("a\"b\\c", 5);
	assert_string_equal(s, "\"a\\\"b\\\\c\"");
	free(s);
	s = json_string_of("\x01\n\x1f\x7f\x80\xff", 6);
	assert_string_equal(s, "\"\\u0001\\u000a\\u001f\\u007f\\u0080\\u00ff\"");
	free(s);
	s = json_string_of("", 0);
	assert_string_equal(s, "\"\"");
	free(s);
}

/* Every byte 1..255 survives: the literal parses as JSON and decodes to the same bytes. */
static void test_output_json_string_parses_back_to_bytes(void **state)
{
	char in[255], back[2048];
	const char *p;
	char *s;
	int i;

	for (i = 0; i < 255; i++)
		in[i] = (char)(i + 1);
	s = json_string_of(in, sizeof(in));
	p = s;
	assert_int_equal(json_parse_string(&p, back, sizeof(back)), 255);
	assert_int_equal(*p, '\0');	/* nothing after the closing quote */
	assert_memory_equal(back, in, 255);
	/* Only printable ASCII appears raw: safe on any terminal, any encoding. */
	for (p = s; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
	free(s);
}

/* comm is a fixed 16-byte field: it ends at NUL or at len, never reads past len. */
static void test_output_json_string_stops_at_nul_or_len(void **state)
{
	char *buf, *s;

	s = json_string_of("abc\0def", 7);
	assert_string_equal(s, "\"abc\"");
	free(s);
	buf = malloc(16);	/* no NUL anywhere */
	assert_non_null(buf);
	memcpy(buf, "0123456789abcdef", 16);
	s = json_string_of(buf, 16);
	assert_string_equal(s, "\"0123456789abcdef\"");
	free(s);
	free(buf);
}

/* The escaping as the JSON grammar states it, byte by byte: the oracle for the fast scan. */
static size_t json_escape_ref(char *out, const unsigned char *s, size_t len)
{
	size_t i, o = 0;

	out[o++] = '"';
	for (i = 0; i < len && s[i]; i++) {
		if (s[i] == '"' || s[i] == '\\')
			o += (size_t)sprintf(out + o, "\\%c", s[i]);
		else if (s[i] < 0x20 || s[i] >= 0x7f)
			o += (size_t)sprintf(out + o, "\\u%04x", s[i]);
		else
			out[o++] = (char)s[i];
	}
	out[o++] = '"';
	return o;
}

/* Every byte that needs care, at every offset of strings longer than the 16-byte steps the
 * scan takes, and two of them in one step: the same escaping as byte by byte. */
static void test_output_json_string_escapes_at_every_offset(void **state)
{
	static const unsigned char special[] = { '"', '\\', 0x01, 0x1f, 0x7f, 0x80, 0xff, 0x00, ' ', '~' };
	unsigned char in[48];
	char want[48 * 6 + 3], *got;
	size_t len, pos, k, n;

	for (len = 0; len <= sizeof(in); len++)
		for (pos = 0; pos < len; pos++)
			for (k = 0; k < sizeof(special); k++) {
				memset(in, 'a', sizeof(in));
				in[pos] = special[k];
				in[len - 1 - pos] = special[(k + 3) % sizeof(special)];
				n = json_escape_ref(want, in, len);
				got = json_string_of((const char *)in, len);
				assert_int_equal(strlen(got), n);
				assert_memory_equal(got, want, n);
				free(got);
			}
}

/* The line builder writes numbers as printf does, and grows. */
static void test_output_jsonline_numbers_and_growth(void **state)
{
	static const __s64 sv[] = { 0, 1, -1, 9, -10, 1234567890123LL, INT64_MAX, INT64_MIN };
	static const __u64 uv[] = { 0, 7, 10, 99, 100, 18446744073709551615ULL };
	struct jsonline l = { 0 };
	char num[32];
	size_t i;

	jl_string(&l, "ab\0cd", 6);
	jl_string(&l, "ab\0cd", 6);
	assert_int_equal(l.len, 8);
	assert_memory_equal(l.p, "\"ab\"\"ab\"", 8);
	l.len = 0;
	for (i = 0; i < sizeof(sv) / sizeof(sv[0]); i++) {
		snprintf(num, sizeof(num), "%lld", (long long)sv[i]);
		jl_s64(&l, sv[i]);
		assert_int_equal(l.len, strlen(num));
		assert_memory_equal(l.p, num, l.len);
		l.len = 0;
	}
	for (i = 0; i < sizeof(uv) / sizeof(uv[0]); i++) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)uv[i]);
		jl_u64(&l, uv[i]);
		assert_int_equal(l.len, strlen(num));
		assert_memory_equal(l.p, num, l.len);
		l.len = 0;
	}
	/* It grows past its first size and keeps every byte. */
	for (i = 0; i < 100000; i++)
		jl_lit(&l, "x");
	jl_str_or_null(&l, NULL);
	assert_false(l.failed);
	assert_int_equal(l.len, 100004);
	assert_memory_equal(l.p + 100000, "null", 4);
	assert_true(l.p[99999] == 'x');
	jl_free(&l);
}

static void test_output_format_addr_families(void **state)
{
	__u8 a[16] = { 0 };
	char buf[64];

	assert_int_equal(inet_pton(AF_INET, "192.0.2.1", a), 1);
	output_format_addr(buf, sizeof(buf), AF_INET, a, 443);
	assert_string_equal(buf, "192.0.2.1:443");

	memset(a, 0, sizeof(a));
	assert_int_equal(inet_pton(AF_INET, "255.255.255.255", a), 1);
	output_format_addr(buf, sizeof(buf), AF_INET, a, 65535);
	assert_string_equal(buf, "255.255.255.255:65535");

	assert_int_equal(inet_pton(AF_INET6, "::1", a), 1);
	output_format_addr(buf, sizeof(buf), AF_INET6, a, 8443);
	assert_string_equal(buf, "[::1]:8443");

	/* RFC 5952 form: zeros compressed, lower case. */
	assert_int_equal(inet_pton(AF_INET6, "2001:0DB8:0000:0000:0000:0000:0000:0001", a), 1);
	output_format_addr(buf, sizeof(buf), AF_INET6, a, 0);
	assert_string_equal(buf, "[2001:db8::1]:0");

	/* The longest IPv6 form fits the 64 bytes the printers use. */
	memset(a, 0xff, sizeof(a));
	a[0] = 0x12;
	output_format_addr(buf, sizeof(buf), AF_INET6, a, 65535);
	assert_string_equal(buf, "[12ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");

	memset(buf, 'X', sizeof(buf));
	output_format_addr(buf, sizeof(buf), AF_UNIX, a, 0);
	assert_string_equal(buf, "unix");

	memset(buf, 'X', sizeof(buf));
	output_format_addr(buf, sizeof(buf), 0, a, 80);
	assert_string_equal(buf, "");
	memset(buf, 'X', sizeof(buf));
	output_format_addr(buf, sizeof(buf), 12345, a, 80);
	assert_string_equal(buf, "");

	/* A short buffer is truncated, still terminated. */
	memset(a, 0, sizeof(a));
	assert_int_equal(inet_pton(AF_INET, "10.0.0.1", a), 1);
	output_format_addr(buf, 5, AF_INET, a, 80);
	assert_string_equal(buf, "10.0");
}

/* A data event as BPF writes it; bytes NULL: 0, 1, 2 ... */
static void *make_event(__u64 conn, int dir, __u64 pos, const __u8 *bytes, __u32 len,
			size_t *size)
{
	struct tlstap_data_event *ev;
	__u32 i;

	*size = sizeof(*ev) + len;
	ev = calloc(1, *size);
	assert_non_null(ev);
	*ev = (struct tlstap_data_event){
		.type = TLSTAP_EV_DATA, .dir = (__u8)dir,
		.func_id = dir == TLSTAP_DIR_OUT ? 0 : 1,	/* SSL_write, SSL_read */
		.flags = TLSTAP_F_CALL_START | TLSTAP_F_CALL_END, .ts_ns = 123456789,
		.pid = 1234, .tid = 1235, .uid = 1000, .fd = 7,
		.conn_id = conn, .pos = pos, .len = len,
		.addr = { .family = AF_INET, .lport = 5555, .rport = 443 },
	};
	assert_int_equal(inet_pton(AF_INET, "10.0.0.1", ev->addr.laddr), 1);
	assert_int_equal(inet_pton(AF_INET, "192.0.2.80", ev->addr.raddr), 1);
	memcpy(ev->comm, "cu\"rl\\\x01", 7);	/* hostile: must come back as sent */
	for (i = 0; i < len; i++)
		ev->data[i] = bytes ? bytes[i] : (__u8)i;
	return ev;
}

/* The raw view printing in mode to a fresh capture, -c max. */
static struct flow_table *printing(struct capture *c, struct output *out, enum out_mode mode,
				   __u64 max)
{
	struct flow_table *ft;

	cap_open(c);
	output_init(out, mode, c->f, max);
	ft = flows_new(&raw_view_callbacks, out, 16);
	assert_non_null(ft);
	return ft;
}

static void feed_event(struct flow_table *ft, __u64 conn, int dir, __u64 pos, const __u8 *bytes,
		       __u32 len)
{
	size_t size;
	void *ev = make_event(conn, dir, pos, bytes, len, &size);

	assert_int_equal(flows_record(ft, ev, size), 0);
	free(ev);
}

static void test_output_json_data_line_fields_and_payload(void **state)
{
	static struct jobj obj;
	struct output out;
	struct capture c;
	struct flow_table *ft;
	__u8 payload[1000], back[1000];
	char **lines;
	int n, i;

	for (i = 0; i < (int)sizeof(payload); i++)
		payload[i] = (__u8)(i * 7 + 3);
	ft = printing(&c, &out, OUT_JSON, 0);
	feed_event(ft, 42, TLSTAP_DIR_OUT, 0, payload, sizeof(payload));
	feed_event(ft, 42, TLSTAP_DIR_IN, 0, (const __u8 *)"HTTP", 4);
	flows_finish(ft);
	flows_free(ft);

	n = cap_lines(&c, &lines);
	assert_int_equal(n, 4);	/* conn, data, data, close */
	for (i = 0; i < n; i++)
		if (json_parse_object(lines[i], &obj))
			fail_msg("line %d is not a flat JSON object: %s", i + 1, lines[i]);

	assert_int_equal(json_parse_object(lines[0], &obj), 0);
	assert_string_equal(obj.key[0], "type");
	assert_string_equal(obj.val[0], "conn");

	assert_int_equal(json_parse_object(lines[1], &obj), 0);
	assert_true(strncmp(lines[1], "{\"type\":\"data\",", 15) == 0);
	assert_string_equal(jget(&obj, "pid"), "1234");
	assert_string_equal(jget(&obj, "tid"), "1235");
	assert_int_equal(jis_str(&obj, "comm"), 1);
	assert_memory_equal(jget(&obj, "comm"), "cu\"rl\\\x01", 8);
	assert_string_equal(jget(&obj, "lib"), "openssl");
	assert_string_equal(jget(&obj, "func"), "SSL_write");
	assert_string_equal(jget(&obj, "dir"), "out");
	assert_string_equal(jget(&obj, "conn"), "42");
	assert_string_equal(jget(&obj, "fd"), "7");
	assert_string_equal(jget(&obj, "local"), "10.0.0.1:5555");
	assert_string_equal(jget(&obj, "remote"), "192.0.2.80:443");
	assert_string_equal(jget(&obj, "pos"), "0");
	assert_string_equal(jget(&obj, "len"), "1000");
	assert_int_equal(jis_str(&obj, "ts_ns"), 0);
	assert_int_equal(b64_decode(jget(&obj, "data"), back), sizeof(payload));
	assert_memory_equal(back, payload, sizeof(payload));

	assert_int_equal(json_parse_object(lines[2], &obj), 0);
	assert_string_equal(obj.val[0], "data");
	assert_string_equal(jget(&obj, "func"), "SSL_read");
	assert_string_equal(jget(&obj, "dir"), "in");
	assert_string_equal(jget(&obj, "len"), "4");
	assert_string_equal(jget(&obj, "data"), "SFRUUA==");	/* base64("HTTP") */

	assert_int_equal(json_parse_object(lines[3], &obj), 0);
	assert_string_equal(obj.val[0], "close");
	assert_string_equal(jget(&obj, "reason"), "end");
	assert_string_equal(jget(&obj, "bytes_out"), "1000");
	assert_string_equal(jget(&obj, "bytes_in"), "4");

	assert_int_equal(out.events, 2);
	assert_int_equal(out.bytes, 1004);
	free_lines(lines, n);
	cap_close(&c);
}

/* Unknown fd and address: null, not a made-up value. A snaplen gap: its own line. */
static void test_output_json_nulls_and_gap_line(void **state)
{
	static struct jobj obj;
	struct tlstap_data_event *ev;
	struct output out;
	struct capture c;
	struct flow_table *ft;
	char **lines;
	size_t size;
	int n;

	ft = printing(&c, &out, OUT_JSON, 0);
	ev = make_event(5, TLSTAP_DIR_IN, 0, NULL, 3, &size);
	ev->fd = -1;
	ev->addr.family = 0;
	ev->skipped = 97;
	assert_int_equal(flows_record(ft, ev, size), 0);
	free(ev);
	flows_finish(ft);
	flows_free(ft);

	n = cap_lines(&c, &lines);
	assert_int_equal(n, 4);	/* conn, data, gap, close */
	assert_int_equal(json_parse_object(lines[1], &obj), 0);
	assert_string_equal(obj.val[0], "data");
	assert_string_equal(jget(&obj, "fd"), "null");
	assert_int_equal(jis_str(&obj, "fd"), 0);
	assert_string_equal(jget(&obj, "local"), "null");
	assert_string_equal(jget(&obj, "remote"), "null");
	assert_string_equal(jget(&obj, "data"), "AAEC");	/* base64(00 01 02) */

	assert_int_equal(json_parse_object(lines[2], &obj), 0);
	assert_string_equal(obj.val[0], "gap");
	assert_string_equal(jget(&obj, "conn"), "5");
	assert_string_equal(jget(&obj, "dir"), "in");
	assert_string_equal(jget(&obj, "pos"), "3");
	assert_string_equal(jget(&obj, "len"), "97");
	assert_string_equal(jget(&obj, "reason"), "snaplen");

	assert_int_equal(json_parse_object(lines[3], &obj), 0);
	assert_string_equal(jget(&obj, "bytes_in"), "100");
	assert_string_equal(jget(&obj, "lost_in"), "0");
	free_lines(lines, n);
	cap_close(&c);
}

static bool ends_with(const char *s, const char *end)
{
	size_t n = strlen(s), k = strlen(end);

	return n >= k && !strcmp(s + n - k, end);
}

/* Whether a parsed line holds key. */
static bool jhas(const struct jobj *o, const char *key)
{
	int i;

	for (i = 0; i < o->n; i++)
		if (!strcmp(o->key[i], key))
			return true;
	return false;
}

/*
 * --host and --run-id: every kind of JSON line (conn, data, gap, close,
 * http, note, h2frame) ends with "host" and "run_id", escaped, exactly
 * when they are given; without them no line has either key.
 */
static void test_output_json_every_line_carries_the_tags(void **state)
{
	static struct jobj obj;
	static const char tags[] = ",\"host\":\"node \\\"1\\\"\",\"run_id\":\"r\\\\2\"}";
	struct http_exchange x = { .proto = "http/1.1", .method = "GET", .path = "/" };
	struct tlstap_data_event *ev;
	struct flow fl;
	struct output out;
	struct capture c;
	struct flow_table *ft;
	char **lines;
	size_t size;
	int n, i, pass;

	for (pass = 0; pass < 2; pass++) {
		ft = printing(&c, &out, OUT_JSON, 0);
		if (pass)
			assert_int_equal(output_set_tags(&out, "node \"1\"", "r\\2"), 0);
		ev = make_event(9, TLSTAP_DIR_IN, 0, NULL, 3, &size);
		ev->skipped = 5;	/* a gap line too */
		assert_int_equal(flows_record(ft, ev, size), 0);
		memset(&fl, 0, sizeof(fl));
		fl.conn_id = 9;
		fl.meta = *ev;
		free(ev);
		output_exchange(&out, &fl, &x);
		output_note(&out, &fl, "a note");
		output_h2_frame(&out, &fl, 0, "PRIORITY", 0, 1, 5);
		flows_finish(ft);
		flows_free(ft);

		n = cap_lines(&c, &lines);
		assert_int_equal(n, 7);	/* conn, data, gap, http, note, h2frame, close */
		for (i = 0; i < n; i++) {
			/* The labels close the line, escaped: a suffix for every kind. */
			if (pass && !ends_with(lines[i], tags))
				fail_msg("line %d does not end with the labels: %s", i + 1, lines[i]);
			if (!pass && (strstr(lines[i], "\"host\"") || strstr(lines[i], "\"run_id\"")))
				fail_msg("line %d has a label nobody gave: %s", i + 1, lines[i]);
			if (!strncmp(lines[i], "{\"type\":\"http\"", 14))
				continue;	/* headers are arrays: not for the flat parser */
			if (json_parse_object(lines[i], &obj))
				fail_msg("line %d is not a flat JSON object: %s", i + 1, lines[i]);
			if (!pass) {
				assert_false(jhas(&obj, "host") || jhas(&obj, "run_id"));
				continue;
			}
			assert_true(obj.n >= 3);
			assert_string_equal(obj.key[obj.n - 2], "host");
			assert_string_equal(obj.val[obj.n - 2], "node \"1\"");
			assert_string_equal(obj.key[obj.n - 1], "run_id");
			assert_string_equal(obj.val[obj.n - 1], "r\\2");
		}
		free_lines(lines, n);
		cap_close(&c);
	}
}

/* -c 2: two data lines, then nothing more, and output_done() says stop. */
static void test_output_count_limit_stops_after_n_events(void **state)
{
	struct output out;
	struct capture c;
	struct flow_table *ft;
	char **lines;
	int n, i, data = 0;

	ft = printing(&c, &out, OUT_JSON, 2);
	assert_false(output_done(&out));
	feed_event(ft, 1, TLSTAP_DIR_OUT, 0, NULL, 10);
	assert_false(output_done(&out));
	feed_event(ft, 1, TLSTAP_DIR_IN, 0, NULL, 20);
	assert_true(output_done(&out));
	feed_event(ft, 1, TLSTAP_DIR_OUT, 10, NULL, 30);
	feed_event(ft, 2, TLSTAP_DIR_OUT, 0, NULL, 40);	/* a new conn, after the limit */
	flows_finish(ft);
	flows_free(ft);
	assert_true(output_done(&out));
	assert_int_equal(out.events, 2);
	assert_int_equal(out.bytes, 30);

	n = cap_lines(&c, &lines);
	for (i = 0; i < n; i++)
		data += strncmp(lines[i], "{\"type\":\"data\",", 15) == 0;
	assert_int_equal(data, 2);
	/* conn 1's open and its two data lines; nothing once the limit was reached. */
	assert_int_equal(n, 3);
	assert_non_null(strstr(lines[0], "\"type\":\"conn\""));
	assert_non_null(strstr(lines[2], "\"len\":20"));
	free_lines(lines, n);
	cap_close(&c);

	/* 0 means unlimited. */
	output_init(&out, OUT_NONE, NULL, 0);
	out.events = 1000000;
	assert_false(output_done(&out));
}

/* Hex mode: the classic 16-bytes-a-line dump, offsets from the stream position. */
static void test_output_hex_dump_layout(void **state)
{
	struct output out;
	struct capture c;
	struct flow_table *ft;
	const char *body;
	char **lines;
	int n;

	ft = printing(&c, &out, OUT_HEX, 0);
	feed_event(ft, 1, TLSTAP_DIR_OUT, 0, (const __u8 *)"GET / HTTP/1.1\r\nHost", 20);
	flows_finish(ft);
	flows_free(ft);
	n = cap_lines(&c, &lines);
	assert_int_equal(n, 3);	/* header, two dump lines; CLOSE_END prints nothing */
	assert_non_null(strstr(lines[0], " 20 bytes conn 1 pos 0"));
	assert_non_null(strstr(lines[0], "10.0.0.1:5555 -> 192.0.2.80:443"));
	assert_non_null(strstr(lines[0], "SSL_write"));
	body = "  00000000  47 45 54 20 2f 20 48 54  54 50 2f 31 2e 31 0d 0a  |GET / HTTP/1.1..|";
	assert_string_equal(lines[1], body);
	body = "  00000010  48 6f 73 74                                       |Host|";
	assert_string_equal(lines[2], body);
	free_lines(lines, n);
	cap_close(&c);
}

/* Text mode: CRLF as a line end, backslash doubled, other bytes as \xNN; comm made safe. */
static void test_output_text_payload_escaping(void **state)
{
	static const char payload[] = "HTTP/1.1 200\r\na\\b\x1b[2J\xff\n";
	struct output out;
	struct capture c;
	struct flow_table *ft;
	char **lines;
	int n;

	ft = printing(&c, &out, OUT_TEXT, 0);
	feed_event(ft, 1, TLSTAP_DIR_IN, 0, (const __u8 *)payload, sizeof(payload) - 1);
	flows_finish(ft);
	flows_free(ft);
	n = cap_lines(&c, &lines);
	assert_int_equal(n, 3);
	/* The comm "cu\"rl\\\x01": escaped as the payload is before it reaches a terminal. */
	assert_non_null(strstr(lines[0], " cu\"rl\\\\\\x01[1234/1235] "));
	assert_non_null(strstr(lines[0], " <- "));
	assert_string_equal(lines[1], "  HTTP/1.1 200");
	assert_string_equal(lines[2], "  a\\\\b\\x1b[2J\\xff");
	free_lines(lines, n);
	cap_close(&c);
}

/*
 * A traced program sends what looks like tlstap's own lines (a block header
 * and a connection end): in the text view every line of its bytes is
 * indented, so nothing it sends starts in column 0 like tlstap's lines do.
 */
static void test_output_text_payload_cannot_forge_tlstap_lines(void **state)
{
	static const char forged[] =
		"x\n[tlstap: conn 7 curl[1] ended (close): 0 bytes out, 0 bytes in]\n"
		"07:09:52.959388 curl[1/1] openssl SSL_write 1.2.3.4:1 -> 5.6.7.8:443 out 3 bytes conn 7 pos 0\r\n"
		"\n\r\nlast";
	struct output out;
	struct capture c;
	struct flow_table *ft;
	char **lines;
	int n, i, own = 0;

	ft = printing(&c, &out, OUT_TEXT, 0);
	feed_event(ft, 1, TLSTAP_DIR_OUT, 0, (const __u8 *)forged, sizeof(forged) - 1);
	flows_finish(ft);
	output_finish(&out);
	flows_free(ft);
	n = cap_lines(&c, &lines);
	assert_int_equal(n, 7);
	for (i = 0; i < n; i++) {
		if (lines[i][0] != ' ') {
			own++;
			continue;
		}
		assert_memory_equal(lines[i], TEXT_INDENT, strlen(TEXT_INDENT));
	}
	/* Only the real block header is in column 0. */
	assert_int_equal(own, 1);
	assert_non_null(strstr(lines[0], "conn 1 pos 0"));
	assert_string_equal(lines[2], "  [tlstap: conn 7 curl[1] ended (close): 0 bytes out, 0 bytes in]");
	assert_string_equal(lines[4], "  ");
	assert_string_equal(lines[6], "  last");
	free_lines(lines, n);
	cap_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_output_base64_rfc4648_vectors),
		cmocka_unit_test(test_output_base64_roundtrip_exact_size),
		cmocka_unit_test(test_output_json_string_escapes),
		cmocka_unit_test(test_output_json_string_parses_back_to_bytes),
		cmocka_unit_test(test_output_json_string_stops_at_nul_or_len),
		cmocka_unit_test(test_output_jsonline_numbers_and_growth),
		cmocka_unit_test(test_output_json_string_escapes_at_every_offset),
		cmocka_unit_test(test_output_format_addr_families),
		cmocka_unit_test(test_output_json_data_line_fields_and_payload),
		cmocka_unit_test(test_output_json_nulls_and_gap_line),
		cmocka_unit_test(test_output_json_every_line_carries_the_tags),
		cmocka_unit_test(test_output_count_limit_stops_after_n_events),
		cmocka_unit_test(test_output_hex_dump_layout),
		cmocka_unit_test(test_output_text_payload_escaping),
		cmocka_unit_test(test_output_text_payload_cannot_forge_tlstap_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
