#!/usr/bin/python3
"""A client of GnuTLS's OpenSSL compatibility layer (libgnutls-openssl), via ctypes.

Its SSL_write/SSL_read call gnutls_record_send/recv with the same buffer: a
process whose bytes pass through both libraries' probed functions. Prints
"ready", waits for a line on stdin, sends argv[2] plus a newline to
127.0.0.1:argv[1], reads the echo, prints "done".
"""
import ctypes
import socket
import sys

lib = ctypes.CDLL("libgnutls-openssl.so.27")
lib.SSLv23_client_method.restype = ctypes.c_void_p
lib.SSL_CTX_new.restype = ctypes.c_void_p
lib.SSL_CTX_new.argtypes = [ctypes.c_void_p]
lib.SSL_new.restype = ctypes.c_void_p
lib.SSL_new.argtypes = [ctypes.c_void_p]
lib.SSL_set_fd.argtypes = [ctypes.c_void_p, ctypes.c_int]
lib.SSL_connect.argtypes = [ctypes.c_void_p]
lib.SSL_write.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
lib.SSL_read.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]

port, text = int(sys.argv[1]), sys.argv[2].encode() + b"\n"
lib.SSL_library_init()
ctx = lib.SSL_CTX_new(lib.SSLv23_client_method())
sock = socket.create_connection(("127.0.0.1", port))
ssl = lib.SSL_new(ctx)
lib.SSL_set_fd(ssl, sock.fileno())
if lib.SSL_connect(ssl) != 1:
    sys.exit("SSL_connect failed")
print("ready", flush=True)
sys.stdin.readline()
if lib.SSL_write(ssl, text, len(text)) != len(text):
    sys.exit("SSL_write failed")
buf = ctypes.create_string_buffer(4096)
got = b""
tries = 0
while len(got) < len(text):
    n = lib.SSL_read(ssl, buf, 4096)
    # The layer returns 0 for any GnuTLS error, also GNUTLS_E_AGAIN after a
    # TLS 1.3 session ticket: retry a few times.
    if n <= 0:
        tries += 1
        if tries > 20:
            sys.exit("SSL_read failed")
        continue
    got += buf.raw[:n]
if got != text:
    sys.exit("echo differs")
print("done", flush=True)
