/* Formatting shared by the printers: addresses, base64, JSON strings, escaped names. */
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include "cgroup_cache.h"
#include "jsonline.h"
#include "print.h"

/*
 * IPv4 by hand: -o json formats two addresses on every line, and inet_ntop (which
 * sprintf's an IPv4 address) and snprintf were a tenth of its cost at small records.
 * Cut to len as snprintf would cut it.
 */
void output_format_addr(char *buf, size_t len, __u16 family, const __u8 *addr, __u16 port)
{
	char s[INET6_ADDRSTRLEN + sizeof("[]:65535")], *p = s;
	size_t n;
	int i;

	if (family == AF_INET) {
		for (i = 0; i < 4; i++) {
			if (i)
				*p++ = '.';
			p = jl_decimal(p, addr[i]);
		}
	} else if (family == AF_INET6 && inet_ntop(AF_INET6, addr, s + 1, INET6_ADDRSTRLEN)) {
		s[0] = '[';
		p = s + strlen(s);
		*p++ = ']';
	} else if (family == AF_UNIX) {
		p = stpcpy(s, "unix");
	}
	if (p != s && family != AF_UNIX) {
		*p++ = ':';
		p = jl_decimal(p, port);
	}
	if (!len)
		return;
	n = (size_t)(p - s) < len ? (size_t)(p - s) : len - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
}

/* Base64 digit pairs for every 12-bit value: two output characters per lookup. */
static char b64_pairs[4096][2];

static void b64_init(void)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	int i;

	for (i = 0; i < 4096; i++) {
		b64_pairs[i][0] = tbl[i >> 6];
		b64_pairs[i][1] = tbl[i & 63];
	}
}

#if defined(__x86_64__)
#include <immintrin.h>

/*
 * 24 input bytes to 32 characters per step with AVX2 (the known
 * shuffle-and-multiply method, W. Mula and D. Lemire): each 128-bit lane
 * takes 12 bytes. Reads 28 bytes per step (the loads overlap), so it stops
 * 28 bytes before the end; the caller finishes the rest. Returns the input
 * bytes encoded.
 */
__attribute__((target("avx2")))
static size_t b64_avx2(char *out, const __u8 *in, size_t len)
{
	const __m256i shuf = _mm256_set_epi8(10, 11, 9, 10, 7, 8, 6, 7, 4, 5, 3, 4, 1, 2, 0, 1,
					     10, 11, 9, 10, 7, 8, 6, 7, 4, 5, 3, 4, 1, 2, 0, 1);
	const __m256i lut = _mm256_setr_epi8(65, 71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16,
					     0, 0, 65, 71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4,
					     -19, -16, 0, 0);
	__m256i v, t0, t1, idx;
	size_t i;

	for (i = 0; i + 28 <= len; i += 24) {
		v = _mm256_inserti128_si256(
			_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(in + i))),
			_mm_loadu_si128((const __m128i *)(in + i + 12)), 1);
		/* Each 3 bytes a b c to the 32-bit word b a c b, then the four
		 * 6-bit fields to a byte each. */
		v = _mm256_shuffle_epi8(v, shuf);
		t0 = _mm256_mulhi_epu16(_mm256_and_si256(v, _mm256_set1_epi32(0x0fc0fc00)),
					_mm256_set1_epi32(0x04000040));
		t1 = _mm256_mullo_epi16(_mm256_and_si256(v, _mm256_set1_epi32(0x003f03f0)),
					_mm256_set1_epi32(0x01000010));
		v = _mm256_or_si256(t0, t1);
		/* 0..25 +65, 26..51 +71, 52..61 -4, 62 -19, 63 -16. */
		idx = _mm256_subs_epu8(v, _mm256_set1_epi8(51));
		idx = _mm256_sub_epi8(idx, _mm256_cmpgt_epi8(v, _mm256_set1_epi8(25)));
		v = _mm256_add_epi8(v, _mm256_shuffle_epi8(lut, idx));
		_mm256_storeu_si256((__m256i *)(out + i / 3 * 4), v);
	}
	return i;
}

static bool have_avx2(void)
{
	static int known = -1;

	if (known < 0)
		known = __builtin_cpu_supports("avx2") ? 1 : 0;
	return known;
}
#endif

/* Encoding is the JSON output's hottest loop: AVX2 where the CPU has it, else 3 bytes per step, 2 lookups. */
void output_base64(char *out, const __u8 *in, size_t len)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static bool ready;
	size_t i = 0;
	__u32 v;

	if (!ready) {
		b64_init();
		ready = true;
	}
#if defined(__x86_64__)
	if (len >= 28 && have_avx2()) {
		i = b64_avx2(out, in, len);
		out += i / 3 * 4;
	}
#endif
	for (; i + 2 < len; i += 3) {
		v = (__u32)in[i] << 16 | (__u32)in[i + 1] << 8 | in[i + 2];
		memcpy(out, b64_pairs[v >> 12], 2);
		memcpy(out + 2, b64_pairs[v & 0xfff], 2);
		out += 4;
	}
	if (len - i == 1) {
		v = (__u32)in[i] << 16;
		*out++ = tbl[v >> 18];
		*out++ = tbl[(v >> 12) & 63];
		*out++ = '=';
		*out++ = '=';
	} else if (len - i == 2) {
		v = (__u32)in[i] << 16 | (__u32)in[i + 1] << 8;
		*out++ = tbl[v >> 18];
		*out++ = tbl[(v >> 12) & 63];
		*out++ = tbl[(v >> 6) & 63];
		*out++ = '=';
	}
	*out = '\0';
}

/* comm is chosen by the traced process: never send its control bytes to a terminal. */
void output_safe_comm(char *out, const char *comm)
{
	log_escape(out, OUTPUT_COMM_SIZE, comm, TLSTAP_COMM_LEN);
}

const char *output_container_tag(char *out, const struct tlstap_data_event *m)
{
	const struct container_info *ci = cgroup_cache_get(m->cgroup_id, m->pid);

	out[0] = '\0';
	if (ci && ci->runtime != CTR_NONE)
		snprintf(out, OUTPUT_TAG_SIZE, "@%.*s", CONTAINER_SHORT_LEN, ci->id);
	return out;
}

bool output_redacted(const struct output *o, const char *name)
{
	int i;

	for (i = 0; i < o->nredact; i++)
		if (!strcasecmp(o->redact[i], name))
			return true;
	return false;
}

const char *print_dir_name(int dir)
{
	return dir ? "in" : "out";
}
