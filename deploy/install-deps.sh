#!/bin/sh
# Installs the Debian packages a build (or a test run) needs, only if missing.
# Usage: install-deps.sh build|test|bench
set -eu

build_pkgs="clang llvm make gcc pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev libssl-dev libnghttp2-dev libpcap-dev libcapstone-dev"
test_pkgs="libcmocka-dev libclang-rt-14-dev tshark gnutls-bin libgnutls-openssl27 wget nghttp2-client nghttp2-server nginx curl python3 nodejs openssl ca-certificates android-libboringssl-dev libnss3-tools iproute2 python3-yaml golang-go lld"
bench_pkgs="nginx wrk openssl golang-go"

case "${1:-build}" in
build) want="$build_pkgs" ;;
test) want="$build_pkgs $test_pkgs" ;;
bench) want="$build_pkgs $bench_pkgs" ;;
*) echo "install-deps.sh: unknown set '$1' (build, test or bench)" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "tlstap: missing packages:$missing; run as root or install them with apt-get" >&2
	exit 1
fi
echo "tlstap: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
