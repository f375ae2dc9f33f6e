/* The tlstap comment codec: one key table writes a packet's comment and reads it back (-r). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "cgroup_cache.h"
#include "http_hex.h"
#include "pcap_comment.h"
#include "probe_table.h"

/* How a key's value is written and read back. */
enum key_kind {
	KEY_NUM,	/* unsigned decimal, read back up to the row's max */
	KEY_FD,		/* signed decimal, read back as strtol reads it */
	KEY_COMM,	/* percent-encoded; TLSTAP_COMM_LEN bytes, NUL-padded */
	KEY_LIB,	/* the func_id's library by name: an unknown one is refused */
	KEY_FUNC,	/* the func_id's name in that library: one it lacks is refused */
	KEY_DIR,	/* "out" (0) or "in" */
	KEY_ADDR,	/* the family: "known" (inet) or "unknown", read back as 1 or 0 */
	KEY_REASON,	/* the event type: "exit", else "close" */
	/* Of the cgroup id field: what the cgroup cache says of it, "-" for none. */
	KEY_CONTAINER,	/* "RUNTIME:ID" */
	KEY_POD,	/* the pod UID */
};

/* One key: its name, the field of the event it holds and how. */
struct comment_key {
	const char *name;
	__u8 kind;
	__u8 size;		/* of the field: 1, 2, 4 or 8 bytes (KEY_COMM: the comm's) */
	__u16 off;		/* of the field in the event */
	unsigned long long max;	/* KEY_NUM: the largest value read back */
	bool optional;		/* files written before it have no such key: read as 0 */
};

#define KEY(ev, field, name, kind, max, opt) \
	{ name, kind, sizeof(((struct ev *)0)->field), offsetof(struct ev, field), max, opt }
#define DATA_KEY(field, name, kind, max) KEY(tlstap_data_event, field, name, kind, max, false)
#define CLOSE_KEY(field, name, kind, max) KEY(tlstap_ctrl_event, field, name, kind, max, false)
/* Keys added after files were first written (containers: issue 14). */
#define DATA_KEY_NEW(field, name, kind, max) KEY(tlstap_data_event, field, name, kind, max, true)
#define CLOSE_KEY_NEW(field, name, kind, max) KEY(tlstap_ctrl_event, field, name, kind, max, true)

/* In the order they are written. */
static const struct comment_key data_keys[] = {
	DATA_KEY(pid, "pid", KEY_NUM, UINT32_MAX),
	DATA_KEY(tid, "tid", KEY_NUM, UINT32_MAX),
	DATA_KEY(uid, "uid", KEY_NUM, UINT32_MAX),
	DATA_KEY(comm, "comm", KEY_COMM, 0),
	DATA_KEY(func_id, "lib", KEY_LIB, 0),	/* before func: it says whose function */
	DATA_KEY(func_id, "func", KEY_FUNC, 0),
	DATA_KEY(conn_id, "conn", KEY_NUM, UINT64_MAX),
	DATA_KEY(fd, "fd", KEY_FD, 0),
	DATA_KEY(dir, "dir", KEY_DIR, 0),
	DATA_KEY(pos, "pos", KEY_NUM, 1ull << 62),
	DATA_KEY(len, "len", KEY_NUM, TLSTAP_CHUNK_MAX),
	DATA_KEY(lost, "lost", KEY_NUM, 1ull << 60),
	DATA_KEY(skipped, "skipped", KEY_NUM, 1ull << 60),
	DATA_KEY(addr.family, "addr", KEY_ADDR, 0),
	DATA_KEY_NEW(netns, "netns", KEY_NUM, UINT32_MAX),
	DATA_KEY_NEW(cgroup_id, "cgroup", KEY_NUM, UINT64_MAX),	/* before its container */
	DATA_KEY_NEW(cgroup_id, "container", KEY_CONTAINER, 0),
	DATA_KEY_NEW(cgroup_id, "pod", KEY_POD, 0),
};

static const struct comment_key close_keys[] = {
	CLOSE_KEY(conn_id, "conn", KEY_NUM, UINT64_MAX),
	CLOSE_KEY(pid, "pid", KEY_NUM, UINT32_MAX),
	CLOSE_KEY(type, "reason", KEY_REASON, 0),
	CLOSE_KEY(end_pos[0], "out", KEY_NUM, 1ull << 62),
	CLOSE_KEY(end_pos[1], "in", KEY_NUM, 1ull << 62),
	CLOSE_KEY_NEW(netns, "netns", KEY_NUM, UINT32_MAX),
	CLOSE_KEY_NEW(cgroup_id, "cgroup", KEY_NUM, UINT64_MAX),
};

#define DATA_PREFIX	"tlstap data "
#define CLOSE_PREFIX	"tlstap close "

size_t pcap_pct_encode(char *out, size_t len, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0, i;
	unsigned char c;

	for (i = 0; i < n && s[i]; i++) {
		c = (unsigned char)s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-' || c == '/') {
			if (o + 1 >= len)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 3 >= len)
				break;
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (len)
		out[o < len ? o : len - 1] = '\0';
	return o;
}

/* The func_id of lib's function named name, or PROBE_FUNC_NONE. */
static __u8 func_by_name(int lib, const char *name)
{
	int fi = lib >= 0 ? tls_lib_func(tls_libs[lib], name, -1) : -1;

	return fi >= 0 ? probe_func_id(lib, fi) : PROBE_FUNC_NONE;
}

static unsigned long long load_uint(const void *field, size_t size)
{
	__u8 v8;
	__u16 v16;
	__u32 v32;
	__u64 v64;

	switch (size) {
	case 1:
		memcpy(&v8, field, 1);
		return v8;
	case 2:
		memcpy(&v16, field, 2);
		return v16;
	case 4:
		memcpy(&v32, field, 4);
		return v32;
	default:
		memcpy(&v64, field, 8);
		return v64;
	}
}

/* Stores v (known to fit) in a field of size bytes. */
static void store_uint(void *field, size_t size, unsigned long long v)
{
	__u8 v8 = (__u8)v;
	__u16 v16 = (__u16)v;
	__u32 v32 = (__u32)v;
	__u64 v64 = v;

	memcpy(field, size == 1 ? (void *)&v8 : size == 2 ? (void *)&v16 :
		      size == 4 ? (void *)&v32 : (void *)&v64, size);
}

/* A comment being written: o counts every byte, as snprintf's result does. */
struct out {
	char *buf;
	size_t len, o;
};

static void put_mem(struct out *w, const char *s, size_t n)
{
	size_t room = w->o + 1 < w->len ? w->len - 1 - w->o : 0;

	if (room)
		memcpy(w->buf + w->o, s, n < room ? n : room);
	w->o += n;
}

static void put_str(struct out *w, const char *s)
{
	put_mem(w, s, strlen(s));
}

static void put_dec(struct out *w, unsigned long long v, bool neg)
{
	char d[21];
	size_t i = sizeof(d);

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (neg)
		d[--i] = '-';
	put_mem(w, d + i, sizeof(d) - i);
}

/* ci: the container of the event's cgroup, or NULL. */
static void write_value(struct out *w, const struct comment_key *k, const void *field,
			const struct container_info *ci)
{
	unsigned long long v = k->kind == KEY_COMM || k->kind == KEY_FD ? 0 : load_uint(field, k->size);
	char comm[3 * TLSTAP_COMM_LEN + 1];
	__s32 fd;

	switch (k->kind) {
	case KEY_NUM:
		put_dec(w, v, false);
		break;
	case KEY_FD:
		memcpy(&fd, field, sizeof(fd));
		put_dec(w, fd < 0 ? -(unsigned long long)fd : (unsigned long long)fd, fd < 0);
		break;
	case KEY_COMM:
		pcap_pct_encode(comm, sizeof(comm), field, TLSTAP_COMM_LEN);
		put_str(w, comm);
		break;
	case KEY_LIB:
		put_str(w, probe_func_lib_name((__u8)v));
		break;
	case KEY_FUNC:
		put_str(w, probe_func_name((__u8)v));
		break;
	case KEY_DIR:
		put_str(w, v ? "in" : "out");
		break;
	case KEY_ADDR:
		put_str(w, v == AF_INET || v == AF_INET6 ? "known" : "unknown");
		break;
	case KEY_REASON:
		put_str(w, v == TLSTAP_EV_EXIT ? "exit" : "close");
		break;
	case KEY_CONTAINER:
		if (ci && ci->runtime != CTR_NONE) {
			put_str(w, container_runtime_name(ci->runtime));
			put_mem(w, ":", 1);
			put_str(w, ci->id);
		} else {
			put_str(w, "-");
		}
		break;
	case KEY_POD:
		put_str(w, ci && ci->pod_uid[0] ? ci->pod_uid : "-");
		break;
	}
}

/* "prefix key=value key=value...", cut to len as snprintf would cut it. */
static int write_comment(char *buf, size_t len, const char *prefix, const struct comment_key *keys,
			 size_t nkeys, const void *ev, const struct container_info *ci)
{
	struct out w = { .buf = buf, .len = len };
	size_t i;

	put_str(&w, prefix);
	for (i = 0; i < nkeys; i++) {
		if (i)
			put_mem(&w, " ", 1);
		put_str(&w, keys[i].name);
		put_mem(&w, "=", 1);
		write_value(&w, &keys[i], (const char *)ev + keys[i].off, ci);
	}
	if (len)
		buf[w.o < len ? w.o : len - 1] = '\0';
	return w.o < len ? 0 : -ENOSPC;
}

int pcap_out_comment(char *buf, size_t len, const struct tlstap_data_event *ev)
{
	return write_comment(buf, len, DATA_PREFIX, data_keys,
			     sizeof(data_keys) / sizeof(data_keys[0]), ev,
			     cgroup_cache_get(ev->cgroup_id, ev->pid));
}

int pcap_out_close_comment(char *buf, size_t len, const struct tlstap_ctrl_event *ev)
{
	return write_comment(buf, len, CLOSE_PREFIX, close_keys,
			     sizeof(close_keys) / sizeof(close_keys[0]), ev, NULL);
}

/* The value of key in a "k=v k=v" comment, decoded into out. */
static int comment_value(const char *comment, const char *key, char *out, size_t len)
{
	size_t klen = strlen(key), o = 0;
	const char *p = comment;
	int hi, lo;

	while ((p = strstr(p, key))) {
		if ((p == comment || p[-1] == ' ') && p[klen] == '=')
			break;
		p += klen;
	}
	if (!p)
		return -ENOENT;
	if (!len)
		return -EINVAL;
	for (p += klen + 1; *p && *p != ' '; p++) {
		if (o + 1 >= len)
			return -EINVAL;
		if (*p == '%') {
			hi = http_hexval(p[1]);
			lo = hi < 0 ? -1 : http_hexval(p[2]);
			if (lo < 0)
				return -EINVAL;
			out[o++] = (char)(hi << 4 | lo);
			p += 2;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
	return 0;
}

/* Decimal, no sign, at most max. */
static int parse_num(const char *s, unsigned long long max, unsigned long long *v)
{
	char *end;

	if (!s[0] || s[0] == '-')
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end || *v > max ? -EINVAL : 0;
}

/* What read_value keeps between keys of one comment. */
struct read_ctx {
	int lib;			/* the library the lib key named, for the func key */
	bool said;			/* a container key was read into ci */
	struct container_info ci;
};

/* "-" or "RUNTIME:ID", strictly (what write_value writes). */
static int read_container(const char *s, struct container_info *ci)
{
	const char *colon = strchr(s, ':');
	int rt;

	memset(ci, 0, sizeof(*ci));
	if (!strcmp(s, "-"))
		return 0;
	rt = colon ? container_runtime_by_name(s, (size_t)(colon - s)) : -1;
	if (rt < 0 || strlen(colon + 1) != CONTAINER_ID_LEN ||
	    !container_is_hex(colon + 1, CONTAINER_ID_LEN))
		return -EINVAL;
	ci->runtime = (unsigned char)rt;
	memcpy(ci->id, colon + 1, CONTAINER_ID_LEN + 1);
	return 0;
}

/* "-" or a pod UID; the container and pod of the cgroup id (field) go
 * to the cgroup cache, where the outputs look for them as in a live run. */
static int read_pod(const char *s, const void *field, struct read_ctx *rc)
{
	if (strcmp(s, "-") && !container_is_uid(s))
		return -EINVAL;
	if (strcmp(s, "-"))
		memcpy(rc->ci.pod_uid, s, POD_UID_LEN + 1);
	if (rc->said)
		cgroup_cache_put(load_uint(field, sizeof(__u64)),
				 rc->ci.runtime != CTR_NONE || rc->ci.pod_uid[0] ? &rc->ci : NULL);
	return 0;
}

static int read_value(const char *comment, const struct comment_key *k, void *field,
		      struct read_ctx *rc)
{
	/* A number's value is at most 31 bytes, a reason's 15, a container's
	 * 95: longer ones are refused. */
	size_t room = k->kind == KEY_NUM ? 32 : k->kind == KEY_REASON ? 16 :
		      k->kind == KEY_CONTAINER ? 96 : 64;
	unsigned long long v = 0;
	char buf[96];
	__s32 fd;
	int err;

	err = comment_value(comment, k->name, buf, room);
	if (err == -ENOENT && k->optional)
		return 0;	/* the event was zeroed */
	if (err)
		return -EINVAL;
	switch (k->kind) {
	case KEY_NUM:
		if (parse_num(buf, k->max, &v))
			return -EINVAL;
		break;
	case KEY_FD:
		fd = (__s32)strtol(buf, NULL, 10);
		memcpy(field, &fd, sizeof(fd));
		return 0;
	case KEY_COMM:
		/* NUL-padded, not always NUL-terminated (as the kernel's). */
		memset(field, 0, k->size);
		memcpy(field, buf, strnlen(buf, k->size));
		return 0;
	case KEY_LIB:
		rc->lib = probe_lib_by_name(buf);
		return rc->lib >= 0 ? 0 : -EINVAL;
	case KEY_FUNC:
		/* Not taken from another library, nor read as "?": what is
		 * read back is written again the same (the fuzz target checks). */
		v = func_by_name(rc->lib, buf);
		if (v == PROBE_FUNC_NONE)
			return -EINVAL;
		break;
	case KEY_DIR:
		if (strcmp(buf, "in") && strcmp(buf, "out"))
			return -EINVAL;
		v = !strcmp(buf, "in");
		break;
	case KEY_ADDR:
		v = !strcmp(buf, "known");	/* the caller fills the address from the packet */
		break;
	case KEY_REASON:
		v = !strcmp(buf, "exit") ? TLSTAP_EV_EXIT : TLSTAP_EV_CLOSE;
		break;
	case KEY_CONTAINER:
		rc->said = !read_container(buf, &rc->ci);
		return rc->said ? 0 : -EINVAL;
	case KEY_POD:
		return read_pod(buf, field, rc);
	}
	store_uint(field, k->size, v);
	return 0;
}

static int read_comment(const char *comment, const struct comment_key *keys, size_t nkeys, void *ev)
{
	struct read_ctx rc = { .lib = -1 };
	size_t i;

	for (i = 0; i < nkeys; i++)
		if (read_value(comment, &keys[i], (char *)ev + keys[i].off, &rc))
			return -EINVAL;
	return 0;
}

int pcap_out_parse_comment(const char *comment, struct tlstap_data_event *ev)
{
	if (strncmp(comment, DATA_PREFIX, strlen(DATA_PREFIX)))
		return -EINVAL;
	memset(ev, 0, sizeof(*ev));
	ev->type = TLSTAP_EV_DATA;
	return read_comment(comment, data_keys, sizeof(data_keys) / sizeof(data_keys[0]), ev);
}

int pcap_out_parse_close(const char *comment, struct tlstap_ctrl_event *ev)
{
	if (strncmp(comment, CLOSE_PREFIX, strlen(CLOSE_PREFIX)))
		return -EINVAL;
	memset(ev, 0, sizeof(*ev));
	return read_comment(comment, close_keys, sizeof(close_keys) / sizeof(close_keys[0]), ev);
}
