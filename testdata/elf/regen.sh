#!/bin/sh
# Rebuilds the ELF test inputs of tests/unit/test_elf_syms.c from their sources.
# The outputs are committed; rerun this after editing a .c file here.
set -eu
cd "$(dirname "$0")"
CC=${CC:-gcc}
for lib in fake_ssl fake_ssl11 fake_nossl; do
	"$CC" -shared -fPIC -O1 -o "$lib.so" "$lib.c"
done
# Without .symtab: only the exported .dynsym is left to search.
strip -o fake_ssl_stripped.so fake_ssl.so
# Non-PIE, so its functions' addresses differ from their file offsets, and
# they are found only in .symtab (an executable does not export them).
"$CC" -no-pie -O1 -o fake_app fake_app.c fake_ssl.c
# BoringSSL's stand-ins: its libssl, and a program with it linked in (its
# SSL_read/SSL_write are fake_ssl.c's, with a libcrypto function only BoringSSL has).
"$CC" -shared -fPIC -O1 -o fake_boringssl.so fake_boringssl.c
"$CC" -no-pie -O1 -o fake_boring_app fake_boring_app.c fake_ssl.c
# A file that starts like an ELF file but ends inside its first headers.
head -c 200 fake_ssl.so > truncated.so
printf 'This is not an ELF file, only text that a lookup must reject.\n' > not_elf.txt
: > empty
