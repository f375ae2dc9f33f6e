#!/bin/sh
# Rebuilds the pcapng samples (fuzz seeds, reader inputs) from gen.c and the
# writer in pcap-writer/. The outputs are committed; rerun after changing either.
set -eu
cd "$(dirname "$0")"
CC=${CC:-gcc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$CC" -std=gnu11 -D_GNU_SOURCE -Wall -Werror -I../../pcap-writer -o "$tmp/gen" gen.c \
	../../pcap-writer/pcapng.c ../../pcap-writer/tcpsynth.c
"$tmp/gen"
