/* Which library functions are probed, and how each one moves bytes. */
#ifndef TLSTAP_PROBE_TABLE_H
#define TLSTAP_PROBE_TABLE_H

#include <stdbool.h>
#include <stdint.h>

struct probe_func {
	const char *name;	/* exported symbol */
	uint8_t lib;		/* enum tlstap_lib */
	uint8_t dir;		/* enum tlstap_dir */
	uint8_t style;		/* enum tlstap_ret_style */
	bool required;		/* a file without it is not this library */
	bool placed;		/* found by probe placement, not by its symbol */
};

/* Indexed by func_id, the id BPF puts in every event. */
extern const struct probe_func probe_funcs[];
extern const int probe_funcs_n;

const char *probe_lib_name(uint8_t lib);
/* The func_id of a table row, -1 if absent. */
int probe_func_id(const char *name, uint8_t style);
/* The function's name, or "?" for an id not in the table (hostile input). */
const char *probe_func_name(uint8_t func_id);

#endif
