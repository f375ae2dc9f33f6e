/* The ring reader's side of the BPF tables: records into the flow table, end positions of connections, exited processes forgotten. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "consumer.h"
#include "probe_table.h"
#include "tlstap.h"

static bool pid_in(const struct consumer *c, __u32 pid)
{
	int i;

	for (i = 0; i < c->nexited; i++)
		if (c->exited[i] == pid)
			return true;
	return false;
}

/*
 * Tells the flow table where the BPF side says this connection (a key of the
 * conns map, whose fd is conns_fd) got to, so bytes that never reached a
 * ring are a gap when its flow ends.
 */
static void note_conn_end(struct consumer *c, int conns_fd, const struct tlstap_session_key *key)
{
	struct tlstap_conn_state cs;
	struct tlstap_data_event meta;

	if (bpf_map_lookup_elem(conns_fd, key, &cs))
		return;
	memset(&meta, 0, sizeof(meta));
	meta.type = TLSTAP_EV_DATA;
	meta.pid = key->pid;
	meta.tid = key->pid;
	meta.fd = cs.fd;
	meta.conn_id = cs.conn_id;
	meta.addr = cs.addr;
	meta.comm[0] = '?';
	meta.func_id = PROBE_FUNC_NONE;	/* no call seen: no function, no library */
	flows_note_end(c->ft, &meta, cs.pos);
}

/*
 * A process that exits without closing its sockets leaves entries keyed by
 * its pid (its fds close in the kernel, not through close()). Delete them so
 * the tables hold live processes only. Keys start with the pid.
 */
static void forget_exited(struct consumer *c, struct bpf_map *map)
{
	size_t key_size = bpf_map__key_size(map), n = 0, i;
	__u8 key[64], next[64], *doomed = NULL, *grown;
	int fd = bpf_map__fd(map), seen = 0;
	__u32 pid;

	if (key_size > sizeof(key) || key_size < sizeof(pid))
		return;
	/* Collect first: deleting while walking restarts the walk. */
	while (seen++ < 1 << 20 && !bpf_map_get_next_key(fd, seen > 1 ? key : NULL, next)) {
		memcpy(key, next, key_size);
		memcpy(&pid, next, sizeof(pid));
		if (!pid_in(c, pid))
			continue;
		grown = realloc(doomed, (n + 1) * key_size);
		if (!grown)
			break;
		doomed = grown;
		memcpy(doomed + n++ * key_size, next, key_size);
	}
	for (i = 0; i < n; i++) {
		/* A connection's end positions are read before it is forgotten. */
		if (map == c->conns)
			note_conn_end(c, fd, (const struct tlstap_session_key *)(doomed + i * key_size));
		bpf_map_delete_elem(fd, doomed + i * key_size);
	}
	free(doomed);
}

void consumer_note_all_conn_ends(struct consumer *c)
{
	int fd = bpf_map__fd(c->conns), seen = 0;
	struct tlstap_session_key key, next;

	while (seen++ < 1 << 20 && !bpf_map_get_next_key(fd, seen > 1 ? &key : NULL, &next)) {
		key = next;
		note_conn_end(c, fd, &key);
	}
}

void consumer_sweep_exited(struct consumer *c)
{
	if (!c->nexited)
		return;
	forget_exited(c, c->conns);
	forget_exited(c, c->fd_sessions);
	c->nexited = 0;
}

int consumer_on_record(void *ctx, void *data, size_t size)
{
	struct consumer *c = ctx;
	struct tlstap_ctrl_event ev;
	__u16 type = 0;

	if (size >= sizeof(type))
		memcpy(&type, data, sizeof(type));
	if (type == TLSTAP_EV_EXEC || type == TLSTAP_EV_MMAP) {
		if (c->on_file)
			c->on_file(c->file_ctx, data, size);
	} else {
		flows_record(c->ft, data, size);
	}
	if (size >= sizeof(ev)) {
		memcpy(&ev, data, sizeof(ev));
		if (ev.type == TLSTAP_EV_EXIT) {
			if (c->nexited == CONSUMER_MAX_EXITED)
				consumer_sweep_exited(c);
			c->exited[c->nexited++] = ev.pid;
		}
	}
	/*
	 * A round reads a bounded share of each ring, and none once the memory
	 * budget is passed (one record, so the rounds go on): what is not read
	 * waits in the ring, the buffer built for it, instead of in our heap.
	 */
	if (c->rings->byte_budget)
		c->rings->bytes_left = size < c->rings->bytes_left ? c->rings->bytes_left - size : 0;
	if (--c->rings->budget_left <= 0 || (c->rings->byte_budget && !c->rings->bytes_left) ||
	    (c->mb && mem_budget_over(c->mb)) || rings_at_stop(c->rings, size))
		return RINGS_BUDGET_SPENT;
	return 0;
}
