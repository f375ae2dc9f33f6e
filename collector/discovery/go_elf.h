/* STUB until branch go-elf is merged: Go executables' version and crypto/tls.(*Conn).Read/Write entry and RET offsets. */
#ifndef TLSTAP_GO_ELF_H
#define TLSTAP_GO_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elf_image;

#define GO_MAX_RETS 64
struct go_func { uint64_t entry; uint64_t rets[GO_MAX_RETS]; int nrets; };
struct go_info { char version[32]; int major, minor; bool regabi; bool stripped; bool pie; struct go_func read, write; };
/* 0, -ENOENT not Go/no crypto/tls, -ENOTSUP unsupported (why says), -EINVAL malformed */
int go_elf_inspect(struct elf_image *img, struct go_info *gi, char *why, size_t whylen);

#endif
