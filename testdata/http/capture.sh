#!/bin/sh
# Captures the real_*.rec recordings: curl and nghttp against nginx and
# nghttpd on 127.0.0.1, cleartext (the decoders see plaintext either way),
# each connection recorded by record_proxy.py. Needs nginx, nghttpd, nghttp,
# curl, python3. Afterwards run regen.sh for the expected outputs.
#   testdata/http/capture.sh
set -eu
cd "$(dirname "$0")"
here=$(pwd)
tmp=$(mktemp -d)
trap 'kill $(cat "$tmp"/*.pid 2>/dev/null) 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/www"
chmod 755 "$tmp"	# nginx workers run as nobody
printf '<html><body>hello from nginx</body></html>\n' >"$tmp/www/index.html"
printf 'body { color: #123; }\n' >"$tmp/www/style.css"
head -c 20000 /dev/zero | tr '\0' 'z' >"$tmp/www/big.txt"
cat >"$tmp/nginx.conf" <<CONF
worker_processes 1;
daemon on;
pid $tmp/nginx.pid;
error_log $tmp/error.log;
events {}
http {
    access_log off;
    client_body_temp_path $tmp/cb; proxy_temp_path $tmp/px; fastcgi_temp_path $tmp/fc;
    uwsgi_temp_path $tmp/uw; scgi_temp_path $tmp/sc;
    server { listen 127.0.0.1:18080; root $tmp/www; server_tokens off;
             location /echo { return 200 "posted\n"; } }
    server { listen 127.0.0.1:18081 http2; root $tmp/www; server_tokens off; }
}
CONF
nginx -c "$tmp/nginx.conf" -e "$tmp/error.log"
nghttpd --no-tls -d "$tmp/www" 18082 >/dev/null 2>&1 &
echo $! >"$tmp/nghttpd.pid"
sleep 1

# record NAME UPSTREAM COMMENT CLIENT-COMMAND... (the client connects to 127.0.0.1:18090)
record() {
	name=$1 up=$2 comment=$3
	shift 3
	python3 "$here/record_proxy.py" 18090 "$up" "$here/$name.rec" "$comment" >"$tmp/proxy.out" &
	p=$!
	while ! grep -q ready "$tmp/proxy.out" 2>/dev/null; do sleep 0.1; done
	"$@" >/dev/null || echo "client exited $?" >&2
	wait $p || echo "proxy exited $?" >&2
	echo "captured $name.rec"
}

u=http://127.0.0.1:18090
record real_http1_curl_nginx 18080 "curl 7.88 and nginx 1.22, HTTP/1.1 keep-alive: three GETs, a 404, a POST with Expect: 100-continue" \
	curl -s -o /dev/null -o /dev/null -o /dev/null -o /dev/null "$u/" "$u/style.css" "$u/missing" "$u/big.txt" \
	--next -s -o /dev/null -H 'Expect: 100-continue' --data-binary 'field=value&other=1' "$u/echo"
record real_h2_curl_nginx 18081 "curl 7.88 and nginx 1.22, HTTP/2 with prior knowledge: a 20000-byte GET (two DATA frames)" \
	curl -s --http2-prior-knowledge -o /dev/null "$u/big.txt"
record real_h2_nghttp_nghttpd 18082 "nghttp and nghttpd 1.52, HTTP/2 with prior knowledge: three requests" \
	nghttp -n "$u/index.html" "$u/style.css" "$u/big.txt"
