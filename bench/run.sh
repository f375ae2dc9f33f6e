#!/bin/sh
# make bench: see bench/README.md. Usage: run.sh TLSTAP [bench.py options]
set -eu
tlstap=$1
shift
exec /usr/bin/python3 "$(dirname "$0")/bench.py" --tlstap "$tlstap" "$@"
