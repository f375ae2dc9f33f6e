/* What tlstap knows of one TLS library: the table entry each collector/libs/<lib>.c defines. */
#ifndef TLSTAP_TLS_LIB_H
#define TLSTAP_TLS_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Functions one library may have probed: a func_id is its library's place
 * in the table times this, plus the function's index (probe_table.h). */
#define TLS_LIB_MAX_FUNCS	16

enum tls_func_kind {
	TLS_FUNC_REQUIRED,	/* a file without it does not have this library */
	TLS_FUNC_OPTIONAL,	/* probed when the file defines it */
	TLS_FUNC_INTERNAL,	/* never by symbol: the library's place() finds it */
};

/*
 * A test a call passes before it is captured, for functions that also serve
 * other traffic (probes/tlstap.h, struct tlstap_guard); all zero: none.
 * back_ref: *(*(session + priv_off) + back_off) must be the session.
 * skip_arg: a call whose argument skip_arg has a bit of skip_mask moves nothing.
 */
struct tls_guard {
	uint8_t back_ref;
	uint8_t skip_arg;
	uint16_t priv_off;
	uint16_t back_off;
	uint16_t skip_mask;
};

/*
 * One probed function: its direction and where its values live. Arguments
 * are numbered from 1 (up to TLSTAP_MAX_ARG); the result kind is an enum
 * tlstap_result, with outlen_arg for TLSTAP_RES_OUTLEN. Two rows may share
 * a name when a function's layout changed between versions; place() then
 * chooses the row.
 */
struct tls_func {
	const char *name;
	uint8_t dir;		/* enum tlstap_dir */
	uint8_t kind;		/* enum tls_func_kind */
	uint8_t session_arg;
	uint8_t buf_arg;
	uint8_t len_arg;
	uint8_t outlen_arg;	/* 0: none */
	uint8_t result;		/* enum tlstap_result */
	uint8_t buf_kind;	/* enum tlstap_buf: 0, the buffer itself */
	struct tls_guard guard;
};

/* RET instructions one file may have probed (a library with at_rets). */
#define TLS_MAX_RETS	128

/* Where one file's probes go: what a library's hooks decide for it. */
struct tls_points {
	/* File offsets by the library's function index, 0: not probed. The
	 * exported functions' are filled in from symbols before place(). */
	uint64_t offsets[TLS_LIB_MAX_FUNCS];
	/* at_rets: the file offset of each RET of the probed functions, and
	 * the function index it returns from. */
	uint64_t rets[TLS_MAX_RETS];
	uint8_t ret_func[TLS_MAX_RETS];
	int nrets;
	int flavour;		/* the library's own (OpenSSL: its release line) */
	char version[48];	/* what is known of the library's version */
	char placement[200];	/* which points are probed, and why */
};

struct elf_image;

struct tls_lib {
	const char *name;	/* in outputs and pcapng comments: "openssl" */
	const char *display;	/* for people: "OpenSSL" */
	/* File names that hold it ("libssl.so" matches libssl.so.3); NULL-ended. */
	const char *const *file_prefixes;
	const char *file_desc;	/* for "looked for libssl and ...": "libssl" */
	const char *funcs_desc;	/* for "none of ...": "SSL_read and SSL_write" */
	const char *help;	/* for --help: "OpenSSL's SSL_read/SSL_write/..." */
	const struct tls_func *funcs;
	int nfuncs;		/* at most TLS_LIB_MAX_FUNCS (TLS_LIB_FUNCS checks) */
	/* Functions only this library defines, NULL-ended: a file is taken for
	 * it only when it defines one of them (NULL: its required functions
	 * suffice). */
	const char *const *marks;
	/* The entry with the same API that a file with this one's marks is not
	 * taken for (BoringSSL's: OpenSSL's), NULL: none. */
	const struct tls_lib *shadows;
	/* Fills pts->version and pts->flavour from the file. */
	void (*detect)(struct elf_image *img, struct tls_points *pts);
	/* May move probes to cheaper points; says so in pts->placement, which
	 * holds "exported functions" on entry. NULL: the exported functions. */
	void (*place)(struct elf_image *img, struct tls_points *pts);
	/*
	 * For a library found by its own means in any executable, not by file
	 * name and symbols (Go: its pclntab): fills all of pts. 0: img has it;
	 * -ENOTSUP: it does but cannot be probed (pts->version and placement
	 * say what and why, no offsets); -ENOENT: it does not. NULL: by symbols.
	 */
	int (*find)(struct elf_image *img, struct tls_points *pts);
	/* Return values are read at each RET (pts->rets) by plain uprobes and
	 * functions entered through the library's own programs, never with a
	 * return probe (Go moves stacks: a rewritten return address crashes it). */
	bool at_rets;
};

/* A library's funcs and nfuncs, bounded at build time. */
#define TLS_LIB_FUNCS(arr)							\
	.funcs = (arr),								\
	.nfuncs = sizeof(arr) / sizeof((arr)[0]) +				\
		  0 * sizeof(struct { _Static_assert(sizeof(arr) / sizeof((arr)[0]) <= \
						     TLS_LIB_MAX_FUNCS,		\
						     "too many functions for one library"); int x; })

/* The index of the function named name in lib (and, when name has several
 * rows, whose outlen_arg is outlen_arg, -1: any), or -1. */
int tls_lib_func(const struct tls_lib *lib, const char *name, int outlen_arg);

#endif
