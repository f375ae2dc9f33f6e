"""nginx (one worker, as root) serving a folder over HTTPS on a free port: for the e2e tests and bench/."""
import os
import signal
import subprocess

from .core import CERT, KEY, Fail, Peer, free_port, wait_port, wait_until

CONF = """
user root;
worker_processes 1;
daemon off;
pid %(p)s/nginx.pid;
error_log %(p)s/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log %(access_log)s;
    default_type application/octet-stream;
    client_body_temp_path %(p)s/body;
    proxy_temp_path %(p)s/proxy;
    fastcgi_temp_path %(p)s/fastcgi;
    uwsgi_temp_path %(p)s/uwsgi;
    scgi_temp_path %(p)s/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 300;
    server {
        listen 127.0.0.1:%(port)d ssl%(http2)s;
        ssl_certificate %(cert)s;
        ssl_certificate_key %(key)s;
        root %(root)s;
    }
}
"""


class Nginx(Peer):
    """With log_requests, each request is logged once its response is sent whole (nginx writes
    the access log after its last SSL_write returned): wait_requests() is the signal that
    nginx's side of an exchange is over. The benchmark runs without it."""
    stop_signal = signal.SIGQUIT     # graceful

    def __init__(self, tmp, root, http2=True, log_requests=True):
        self.port = free_port()
        self.prefix = os.path.join(tmp, "nginx")
        os.makedirs(os.path.join(self.prefix, "logs"), exist_ok=True)
        self.access_log = os.path.join(self.prefix, "logs", "access.log")
        conf = os.path.join(self.prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write(CONF % {"p": self.prefix, "port": self.port, "cert": CERT, "key": KEY, "root": root,
                            "http2": " http2" if http2 else "",
                            "access_log": self.access_log if log_requests else "off"})
        self.proc = subprocess.Popen(["nginx", "-p", self.prefix, "-c", conf, "-e",
                                      os.path.join(self.prefix, "logs", "error.log")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_port(self.port)
        except Fail:
            self.stop()
            raise Fail("nginx did not start: %s" % self.proc.stderr.read().decode(errors="replace"))

    def requests_logged(self):
        try:
            with open(self.access_log, "rb") as f:
                return f.read().count(b"\n")
        except FileNotFoundError:
            return 0

    def wait_requests(self, n, timeout=30):
        wait_until(lambda: self.requests_logged() >= n, timeout, "nginx logged fewer than %d requests" % n)
