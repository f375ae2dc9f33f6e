/* Capture-file names and when to start the next file: -w, -C, -G (strftime names), -W. */
#ifndef TLSTAP_PCAP_FILES_H
#define TLSTAP_PCAP_FILES_H

#include <stdbool.h>
#include <time.h>
#include "opts.h"
#include "pcap_out.h"
#include "pcapng.h"

struct pcap_files {
	const struct pcap_out_opts *o;
	unsigned int index;	/* of the current file: -C numbers (a ring with -W), -G counts */
	time_t start;		/* when the current file was opened (its statistics say) */
	__u64 start_ms;		/* the same on CLOCK_MONOTONIC: when -G cuts it */
	bool err_at_open;	/* the last error came from opening name */
	char name[4200];	/* the file being (or last) opened */
	char last_base[4096];	/* -G: the name before numbering, of the last file */
	unsigned int repeat;	/* -G: how many files in a row had that name */
	/* The section comments of every file: "host=NAME", "run_id=ID", NULL-terminated. */
	char host_note[8 + OPTS_LABEL_MAX], run_note[8 + OPTS_LABEL_MAX];
	const char *notes[3];
};

/* Before the first file; o must outlive pf. */
void pcap_files_init(struct pcap_files *pf, const struct pcap_out_opts *o);
/* Names and opens the current file; errors are pcapng_open's, or -ENAMETOOLONG. */
int pcap_files_open(struct pcap_files *pf, struct pcapng_writer **w);
/* On to the next file's number: -ECANCELED when -G -W has written its files. */
int pcap_files_next(struct pcap_files *pf);
/* The current file's -G period starts now. */
void pcap_files_restart_clock(struct pcap_files *pf);
/* -G: the current file has had its time. */
bool pcap_files_time_up(const struct pcap_files *pf);
/* -C: the current file has reached its size. */
bool pcap_files_full(const struct pcap_files *pf, const struct pcapng_writer *w);

#endif
