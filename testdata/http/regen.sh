#!/bin/sh
# Regenerates what testdata/http/ derives from code, from the repository root:
#   1. the synthetic HTTP/2 and gRPC recordings (h2_*.rec, grpc_*.rec) from gen_h2.c;
#   2. the expected output NAME.out of every NAME.rec, printed by the golden
#      test binary's --regen mode (review the diff: it is the decoders' new behaviour);
#   3. the fuzz seeds seeds-h1/ (http1_*.rec) and seeds-h2/ (h2_*, grpc_*, real_h2_*).
# Hand-written recordings (http1_*.rec) and captured ones (real_*.rec, see
# capture.sh) are inputs: this script never changes them.
#
#   testdata/http/regen.sh [OUTPUT]     (OUTPUT: the build folder, default build)
set -eu
cd "$(dirname "$0")/../.."
out=${1:-build}
dir=testdata/http

mkdir -p "$out"
cc -O1 -Wall -Wextra -Werror -o "$out/gen_h2" "$dir/gen_h2.c" -lnghttp2
"$out/gen_h2" "$dir"

make --no-print-directory OUTPUT="$out" "$out/tests/test_http_golden"
"$out/tests/test_http_golden" --regen

rm -rf "$dir/seeds-h1" "$dir/seeds-h2"
mkdir -p "$dir/seeds-h1" "$dir/seeds-h2"
"$out/tests/test_http_golden" --seeds "$dir/seeds-h1" http1_
"$out/tests/test_http_golden" --seeds "$dir/seeds-h1" real_http1_
"$out/tests/test_http_golden" --seeds "$dir/seeds-h2" h2_
"$out/tests/test_http_golden" --seeds "$dir/seeds-h2" grpc_
"$out/tests/test_http_golden" --seeds "$dir/seeds-h2" real_h2_
echo "regenerated $dir: review 'git diff $dir' before committing"
