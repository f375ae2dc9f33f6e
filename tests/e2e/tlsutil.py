"""TLS contexts, a listening socket and an accept loop shared by the small Python peers of the e2e tests."""
import socket
import ssl
import sys
import threading


def server_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def client_context():
    """A client that trusts any certificate: the peers use the test's self-signed one."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def listen(host="127.0.0.1", backlog=64, port=0):
    """A socket listening on port (0: a free one) of host; its port is printed on stdout (the
    readiness line)."""
    srv = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(backlog)
    print(srv.getsockname()[1], flush=True)
    return srv


def serve_forever(srv, ctx, handle, who):
    """Accepts connections, makes the TLS handshake and runs handle(tls_socket) in a thread each."""
    while True:
        c, _ = srv.accept()
        try:
            t = ctx.wrap_socket(c, server_side=True)
        except (OSError, ssl.SSLError) as e:
            print("%s: handshake: %s" % (who, e), file=sys.stderr)
            c.close()
            continue
        threading.Thread(target=handle, args=(t,), daemon=True).start()


def copy(src, dst):
    """Sends dst every byte src reads until src ends or fails (an echo when src is dst)."""
    try:
        while True:
            d = src.recv(65536)
            if not d:
                break
            dst.sendall(d)
    except (OSError, ssl.SSLError):
        pass


_print_lock = threading.Lock()


def say(line):
    """One whole line on stdout from any thread: the tests read these as readiness signals."""
    with _print_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
