/* Files that appear after the start: each one a process runs or maps is judged once (by device and inode, through the process's own /proc entries) and probed at once if it holds TLS. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/sysmacros.h>
#include <bpf/bpf.h>
#include "monotime.h"
#include "find_targets.h"
#include "hold.h"
#include "log.h"
#include "targets_impl.h"
#include "watch.h"

/* What looking at a reported file came to. */
enum look {
	LOOK_DONE = 0,		/* judged now or before */
	LOOK_AGAIN = 1,		/* the mapping is not there yet: next round */
	LOOK_GONE = 2,		/* the process or its file went away first */
};

dev_t watch_dev_from_kernel(__u32 kdev)
{
	return makedev(kdev >> 20, kdev & 0xfffff);
}

__u32 watch_dev_to_kernel(dev_t dev)
{
	return (__u32)(major(dev) << 20 | (minor(dev) & 0xfffff));
}

void watch_init(struct watch *w, struct target_list *tl, struct link_list *links,
		const struct probe_progs *progs, int known_fd,
		const pid_t *pids, int npids)
{
	struct tlstap_file_key k = {};
	__u8 one = 1;
	size_t i;

	memset(w, 0, sizeof(*w));
	w->tl = tl;
	w->links = links;
	w->progs = *progs;
	w->known_fd = known_fd;
	w->held_fd = -1;
	w->pids = pids;
	w->npids = npids;
	/* Files the start-up search judged are not reported again. */
	for (i = 0; i < tl->nseen && i < TLSTAP_MAX_KNOWN_FILES / 2; i++) {
		k.dev = watch_dev_to_kernel(tl->seen[i].dev);
		k.ino = tl->seen[i].ino;
		bpf_map_update_elem(known_fd, &k, &one, BPF_ANY);
	}
}

/* Not looked at: the BPF side forgets it, so its next use reports it again. */
static void forget(struct watch *w, const struct tlstap_file_key *k)
{
	bpf_map_delete_elem(w->known_fd, k);
}

void watch_on_report(void *ctx, const void *data, size_t size)
{
	struct watch *w = ctx;
	struct tlstap_file_event e;
	struct watch_item *it;

	if (size < sizeof(e))
		return;
	memcpy(&e, data, sizeof(e));
	if (e.type == TLSTAP_EV_EXEC && w->on_exec)
		w->on_exec(w->exec_ctx, e.pid);
	w->st.reports++;
	w->st.held += e.held != 0;
	if (w->n == WATCH_QUEUE) {
		w->st.dropped++;
		forget(w, &e.file);
		if (e.held)
			hold_release(w->held_fd, e.pid);
		return;
	}
	it = &w->q[(w->head + w->n++) % WATCH_QUEUE];
	*it = (struct watch_item){ .pid = e.pid, .fd = e.fd, .ts_ns = e.ts_ns, .type = e.type,
				   .held = e.held != 0, .key = e.file };
}

/* "/proc/PID/root" and where link points in the process's own view: the name shown. */
static void rooted_name(char *out, size_t len, __u32 pid, const char *link)
{
	char target[PATH_MAX];
	ssize_t n = readlink(link, target, sizeof(target) - 1);

	if (n <= 0 || target[0] != '/') {
		snprintf(out, len, "%s", link);
		return;
	}
	target[n] = '\0';
	snprintf(out, len, "/proc/%u/root%s", pid, target);
}

/* Judges the file open at link (/proc/PID/exe or /proc/PID/fd/N) if it is the one reported. */
static enum look look_link(struct watch *w, const struct watch_item *it, const char *link,
			   const char *origin)
{
	char display[PATH_MAX + 64];
	struct stat st;
	int fd, err;

	err = open_candidate(w->tl, link, ADD_FOLLOW | ADD_LOCAL_ONLY, (pid_t)it->pid, &fd, &st);
	if (err == -EREMOTE)
		return LOOK_DONE;
	if (err)
		return LOOK_GONE;
	if (watch_dev_to_kernel(st.st_dev) != it->key.dev || st.st_ino != it->key.ino) {
		close(fd);	/* it ran or mapped another file since */
		return LOOK_GONE;
	}
	rooted_name(display, sizeof(display), it->pid, link);
	add_open(w->tl, fd, &st, display, origin, ADD_LOCAL_ONLY);
	return LOOK_DONE;
}

/* The mapping of the reported file in /proc/PID/maps, judged through map_files. */
static enum look look_maps(struct watch *w, const struct watch_item *it, const char *origin)
{
	char line[PATH_MAX + 256], rooted[PATH_MAX + 64];
	struct maps_entry e;
	int nlines = 0;
	char *path;
	FILE *f;

	snprintf(rooted, sizeof(rooted), "/proc/%u/maps", it->pid);
	f = fopen(rooted, "re");
	if (!f)
		return LOOK_GONE;
	while (fgets(line, sizeof(line), f) && nlines++ < 200000) {
		if (!strchr(line, '\n'))
			break;
		path = maps_path(line, &e);
		if (!path || watch_dev_to_kernel(e.dev) != it->key.dev || e.ino != it->key.ino)
			continue;
		fclose(f);
		snprintf(rooted, sizeof(rooted), "/proc/%u/root%s", it->pid, path);
		add_mapped(w->tl, (pid_t)it->pid, &e, path, rooted, origin, ADD_LOCAL_ONLY);
		return LOOK_DONE;
	}
	fclose(f);
	return LOOK_AGAIN;
}

/* Looks at one reported file through the process's own /proc entries. */
static enum look look(struct watch *w, const struct watch_item *it)
{
	char link[64], origin[160], comm[32];
	enum look r;

	proc_comm((pid_t)it->pid, comm, sizeof(comm));
	if (it->type == TLSTAP_EV_EXEC) {
		snprintf(origin, sizeof(origin), "exec of %s[%u]", comm, it->pid);
		snprintf(link, sizeof(link), "/proc/%u/exe", it->pid);
		return look_link(w, it, link, origin);
	}
	snprintf(origin, sizeof(origin), "mapped later by %s[%u]", comm, it->pid);
	/* The mapping is made just after the report: it may not show yet, but
	 * the descriptor mapped is usually still open. */
	r = look_maps(w, it, origin);
	if (r != LOOK_AGAIN)
		return r;
	snprintf(link, sizeof(link), "/proc/%u/fd/%d", it->pid, it->fd);
	if (look_link(w, it, link, origin) == LOOK_DONE)
		return LOOK_DONE;
	snprintf(link, sizeof(link), "/proc/%u", it->pid);
	return access(link, F_OK) ? LOOK_GONE : LOOK_AGAIN;
}

/* The socket descriptors pid has open now (see struct watch_late). */
static void note_sockets(struct watch_late *l)
{
	char dir[64], link[64 + 256 + 2], target[64];
	struct dirent *de;
	ssize_t n;
	DIR *d;
	int fd, seen = 0;

	l->nsockets = 0;
	snprintf(dir, sizeof(dir), "/proc/%u/fd", l->pid);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d)) && seen++ < 65536) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strncmp(target, "socket:", 7))
			continue;
		fd = atoi(de->d_name);
		if (l->nsockets < WATCH_LATE_SOCKETS)
			l->sockets[l->nsockets] = fd;
		l->nsockets++;
	}
	closedir(d);
}

static struct watch_late *find_late(const struct watch *w, __u32 pid)
{
	size_t i;

	for (i = 0; i < w->nlate; i++)
		if (w->late[i].pid == pid)
			return (struct watch_late *)&w->late[i];
	return NULL;
}

static void remember_late(struct watch *w, __u32 pid, __u64 event_ns, __u64 attached_ns)
{
	struct watch_late *l = find_late(w, pid);
	size_t i;

	if (!l) {
		i = w->nlate < WATCH_MAX_LATE ? w->nlate++ : w->late_next++ % WATCH_MAX_LATE;
		l = &w->late[i];
		l->pid = pid;
	} else if (attached_ns - event_ns <= l->attached_ns - l->event_ns) {
		return;	/* the longest delay is what may have been missed */
	}
	l->event_ns = event_ns;
	l->attached_ns = attached_ns;
	note_sockets(l);
}

bool watch_conn_predates(const struct watch *w, __u32 pid, int fd, __u64 *delay_ns)
{
	const struct watch_late *l = find_late(w, pid);
	unsigned int i;

	if (!l)
		return false;
	*delay_ns = l->attached_ns - l->event_ns;
	if (fd < 0 || l->nsockets > WATCH_LATE_SOCKETS)
		return true;	/* cannot be told: said rather than not */
	for (i = 0; i < l->nsockets; i++)
		if (l->sockets[i] == fd)
			return true;
	return false;
}

/* Probes the targets from index first on, as the ones found at start. */
static void attach_new(struct watch *w, const struct watch_item *it, size_t first)
{
	struct target_list view = { .v = w->tl->v + first, .n = w->tl->n - first };
	__u64 done, delay;
	size_t i;
	int n;

	n = attach_targets(w->links, &w->progs, &view, w->pids, w->npids);
	done = mono_ns();
	if (n <= 0)
		return;
	delay = done > it->ts_ns ? done - it->ts_ns : 0;
	w->st.attached++;
	if (w->ndelays < WATCH_MAX_DELAYS)
		w->delays[w->ndelays++] = delay;
	remember_late(w, it->pid, it->ts_ns, done);
	/* Paths and origins are escaped already: they name others' files. */
	for (i = first; i < w->tl->n; i++)
		pr_info("attached later: %s (%s, %.1f ms after %s)\n", w->tl->v[i].path,
			w->tl->v[i].origin, (double)delay / 1e6,
			it->type == TLSTAP_EV_EXEC ? "exec" : "mmap");
}

/* --list-targets -d: the targets from index first on, listed as at start, with when they came. */
static void list_new(struct watch *w, const struct watch_item *it, size_t first)
{
	__u64 done = mono_ns(), delay = done > it->ts_ns ? done - it->ts_ns : 0;
	size_t i;

	for (i = first; i < w->tl->n; i++) {
		list_target(&w->tl->v[i]);
		printf("\tfound later: %.1f ms after its %s (not probed: --list-targets)\n",
		       (double)delay / 1e6, it->type == TLSTAP_EV_EXEC ? "exec" : "mmap");
	}
	fflush(stdout);	/* a reader sees each as it comes */
}

/* Within the limits on files looked at and targets: said once when not. */
static bool within_limits(struct watch *w)
{
	if (w->st.files < WATCH_MAX_FILES && w->tl->n < WATCH_MAX_TARGETS)
		return true;
	if (!w->full_said)
		pr_warn("no more files probed after the start: %d looked at, %zu targets "
			"(name others with -l)\n", WATCH_MAX_FILES, w->tl->n);
	w->full_said = true;
	return false;
}

/* One reported file: LOOK_AGAIN keeps it waiting. */
static enum look handle(struct watch *w, struct watch_item *it)
{
	dev_t dev = watch_dev_from_kernel(it->key.dev);
	size_t first = w->tl->n;
	enum look r;

	if (find_seen(w->tl, dev, it->key.ino))
		return LOOK_DONE;
	if (!within_limits(w)) {
		w->st.dropped++;
		forget(w, &it->key);
		return LOOK_DONE;
	}
	r = look(w, it);
	if (r == LOOK_AGAIN && ++it->tries < WATCH_MAX_TRIES)
		return LOOK_AGAIN;
	if (r != LOOK_DONE) {
		w->st.gone++;
		forget(w, &it->key);
		pr_debug("file %u:%u inode %llu of pid %u not looked at: the process was gone first\n",
			 major(dev), minor(dev), (unsigned long long)it->key.ino, it->pid);
		return LOOK_DONE;
	}
	w->st.files++;
	if (!find_seen(w->tl, dev, it->key.ino))
		forget(w, &it->key);	/* could not be judged (out of memory, gone) */
	if (w->tl->n > first && w->list_only)
		list_new(w, it, first);
	else if (w->tl->n > first)
		attach_new(w, it, first);
	return LOOK_DONE;
}

unsigned int watch_run(struct watch *w)
{
	__u64 deadline = mono_ns() + WATCH_ROUND_MS * 1000000ull;
	unsigned int i, todo = w->n;
	struct watch_item it;

	/* Each waiting report once per round, in order; those to retry go back. */
	for (i = 0; i < todo; i++) {
		if (i > 0 && mono_ns() >= deadline)
			break;
		it = w->q[w->head];
		w->head = (w->head + 1) % WATCH_QUEUE;
		w->n--;
		if (handle(w, &it) == LOOK_AGAIN)
			w->q[(w->head + w->n++) % WATCH_QUEUE] = it;
		else if (it.held)
			hold_release(w->held_fd, it.pid);	/* probed, or not to be */
	}
	return w->n;
}

void watch_release(struct watch *w)
{
	unsigned int i;

	for (i = 0; i < w->n; i++)
		if (w->q[(w->head + i) % WATCH_QUEUE].held)
			hold_release(w->held_fd, w->q[(w->head + i) % WATCH_QUEUE].pid);
	w->n = 0;
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

void watch_delay_stats(__u64 *v, size_t n, __u64 *min, __u64 *median, __u64 *max)
{
	*min = *median = *max = 0;
	if (!n)
		return;
	qsort(v, n, sizeof(*v), cmp_u64);
	*min = v[0];
	*median = v[n / 2];
	*max = v[n - 1];
}

void watch_summary(struct watch *w, __u64 unreported)
{
	__u64 min, median, max, dropped = w->st.dropped + unreported;

	watch_delay_stats(w->delays, w->ndelays, &min, &median, &max);
	/* Said whenever something was probed late or left out; else at -v. */
	log_msg(w->st.attached || dropped ? LOG_WARN : LOG_INFO,
		"files that appeared later: %llu looked at, %llu probed (exec or mmap to "
		"probes: min %.1f, median %.1f, max %.1f ms); not looked at: %llu gone first, "
		"%llu dropped\n",
		(unsigned long long)w->st.files, (unsigned long long)w->st.attached,
		(double)min / 1e6, (double)median / 1e6, (double)max / 1e6,
		(unsigned long long)w->st.gone, (unsigned long long)dropped);
}
