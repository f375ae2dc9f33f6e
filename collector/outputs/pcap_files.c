/* Names the capture files of -w and says when to move to the next: -C sizes, -G times, -W counts. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "monotime.h"
#include "pcap_files.h"

#include "version.h"

void pcap_files_init(struct pcap_files *pf, const struct pcap_out_opts *o)
{
	int n = 0;

	memset(pf, 0, sizeof(*pf));
	pf->o = o;
	/* Labels are at most OPTS_LABEL_MAX bytes (the options check): they fit. */
	if (o->host) {
		snprintf(pf->host_note, sizeof(pf->host_note), "host=%s", o->host);
		pf->notes[n++] = pf->host_note;
	}
	if (o->run_id) {
		snprintf(pf->run_note, sizeof(pf->run_note), "run_id=%s", o->run_id);
		pf->notes[n++] = pf->run_note;
	}
}

/* snprintf's answer as an errno: a name that does not fit is not shortened. */
static int fits(int n, size_t len)
{
	return n < (int)len ? 0 : -ENAMETOOLONG;
}

/*
 * -G alone: a name that did not change since the last file (no pattern, or
 * one coarser than the interval) gets a number, FILE, FILE.1, FILE.2...
 * tcpdump would reopen and so destroy the file just written. The dot keeps
 * numbered names apart from what the pattern makes later (an unpadded %-H:
 * "cap-1" numbered must not become hour 11's "cap-11").
 */
static int repeat_name(struct pcap_files *pf, const char *base, char *name, size_t len)
{
	if (pf->index && !strcmp(base, pf->last_base)) {
		pf->repeat++;
	} else {
		pf->repeat = 0;
		memcpy(pf->last_base, base, sizeof(pf->last_base));
	}
	if (pf->repeat)
		return fits(snprintf(name, len, "%s.%u", base, pf->repeat), len);
	return fits(snprintf(name, len, "%s", base), len);
}

/* -C: like tcpdump, the first file has the name, the next ones a number (as wide as -W's). */
static int numbered_name(const struct pcap_files *pf, const char *base, char *name, size_t len)
{
	int width = 1;
	unsigned int w;

	if (pf->index == 0)
		return fits(snprintf(name, len, "%s", base), len);
	for (w = pf->o->max_files; w >= 10; w /= 10)
		width++;
	return fits(snprintf(name, len, "%s%0*u", base, pf->o->max_files ? width : 1, pf->index),
		    len);
}

static int file_name(struct pcap_files *pf, char *name, size_t len)
{
	const struct pcap_out_opts *o = pf->o;
	char base[sizeof(pf->last_base)];
	time_t now = time(NULL);
	struct tm tm;

	if (!strcmp(o->path, "-"))
		return fits(snprintf(name, len, "-"), len);
	localtime_r(&now, &tm);
	if (o->rotate_secs && strchr(o->path, '%')) {
		if (!strftime(base, sizeof(base), o->path, &tm))
			return -ENAMETOOLONG;
	} else if (fits(snprintf(base, sizeof(base), "%s", o->path), sizeof(base))) {
		return -ENAMETOOLONG;
	}
	if (!o->rotate_bytes && o->rotate_secs)
		return repeat_name(pf, base, name, len);
	if (!o->rotate_bytes)
		return fits(snprintf(name, len, "%s", base), len);
	return numbered_name(pf, base, name, len);
}

int pcap_files_open(struct pcap_files *pf, struct pcapng_writer **w)
{
	int err = file_name(pf, pf->name, sizeof(pf->name));

	if (!err)
		err = pcapng_open_section(w, pf->name, "tlstap " TLSTAP_VERSION, pf->notes);
	if (err) {
		pf->err_at_open = true;
		return err;
	}
	pcapng_set_stop(*w, pf->o->stop);
	pcapng_write_behind(*w);
	pf->start = time(NULL);
	pf->start_ms = mono_ms();
	return 0;
}

int pcap_files_next(struct pcap_files *pf)
{
	const struct pcap_out_opts *o = pf->o;

	pf->index++;
	if (o->rotate_bytes && o->max_files)
		pf->index %= o->max_files;
	if (o->rotate_secs && !o->rotate_bytes && o->max_files && pf->index >= o->max_files)
		return -ECANCELED;	/* tcpdump -G -W: stop after that many files */
	return 0;
}

void pcap_files_restart_clock(struct pcap_files *pf)
{
	pf->start_ms = mono_ms();
}

bool pcap_files_time_up(const struct pcap_files *pf)
{
	/* Counted from the file's open, to the millisecond: whole seconds of
	 * time() would cut a file opened at x.99 s after 10 ms. */
	return pf->o->rotate_secs && mono_ms() - pf->start_ms >= (__u64)pf->o->rotate_secs * 1000;
}

bool pcap_files_full(const struct pcap_files *pf, const struct pcapng_writer *w)
{
	return pf->o->rotate_bytes && pcapng_bytes_written(w) >= pf->o->rotate_bytes;
}
