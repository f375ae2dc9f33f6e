#!/usr/bin/python3
"""Records the function bytes the placement unit tests decide on.

Writes SET/<vaddr in hex>.bin (512 bytes of code from that address) for the
functions each set names, read from this machine's libraries. The committed
sets came from Debian 12: libssl3 3.0.19, libgnutls30 3.7.9, nodejs 20 (its
OpenSSL is linked in and its wrappers inline the internal functions).
Usage: regen.py (run from anywhere; overwrites the sets).
"""
import os
import re
import struct
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))


def load_segments(path):
    with open(path, "rb") as f:
        data = f.read()
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    segs = []
    for i in range(phnum):
        p_type, p_flags, p_offset, p_vaddr, _, p_filesz = struct.unpack_from(
            "<IIQQQQ", data, phoff + i * phentsize)
        if p_type == 1 and p_flags & 1:
            segs.append((p_vaddr, p_offset, p_filesz))
    return data, segs


def code_at(data, segs, vaddr, n=512):
    for v, o, sz in segs:
        if v <= vaddr < v + sz:
            off = vaddr - v + o
            return data[off:off + n]
    raise SystemExit("0x%x is not in an executable segment" % vaddr)


def symbols(path):
    out = subprocess.run(["nm", "-D", "--defined-only", path], capture_output=True, text=True).stdout
    syms = {}
    for line in out.splitlines():
        m = re.match(r"([0-9a-f]+) T (\S+?)(@.*)?$", line)
        if m:
            syms[m.group(2)] = int(m.group(1), 16)
    return syms


def first_call_target(data, segs, vaddr):
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", "--start-address=0x%x" % vaddr,
                          "--stop-address=0x%x" % (vaddr + 512), SRC], capture_output=True, text=True).stdout
    m = re.search(r"\scall\s+([0-9a-f]+)\s", out)
    return int(m.group(1), 16) if m else None


def record(setname, path, names, follow_calls=False, extra=()):
    global SRC
    SRC = path
    data, segs = load_segments(path)
    syms = symbols(path)
    d = os.path.join(HERE, setname)
    os.makedirs(d, exist_ok=True)
    addrs = set(extra)
    for n in names:
        addrs.add(syms[n])
        if follow_calls:
            t = first_call_target(data, segs, syms[n])
            if t:
                addrs.add(t)
    with open(os.path.join(d, "symbols.txt"), "w") as f:
        for n in names:
            f.write("%s 0x%x\n" % (n, syms[n]))
    for a in sorted(addrs):
        with open(os.path.join(d, "%x.bin" % a), "wb") as f:
            f.write(code_at(data, segs, a))


WRAPPERS = ["SSL_read", "SSL_read_ex", "SSL_write", "SSL_write_ex"]
record("openssl-3.0.19", os.path.realpath("/usr/lib/x86_64-linux-gnu/libssl.so.3"), WRAPPERS,
       follow_calls=True)
record("node-20", "/usr/bin/node", WRAPPERS, follow_calls=True)
gnutls = os.path.realpath("/usr/lib/x86_64-linux-gnu/libgnutls.so.30")
SRC = gnutls
gd, gs = load_segments(gnutls)
gsyms = symbols(gnutls)
out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", "--start-address=0x%x" % gsyms["gnutls_record_send"],
                      "--stop-address=0x%x" % (gsyms["gnutls_record_send"] + 16), gnutls],
                     capture_output=True, text=True).stdout
plt = int(re.search(r"\sjmp\s+([0-9a-f]+)\s", out).group(1), 16)
record("gnutls-3.7.9", gnutls, ["gnutls_record_send", "gnutls_record_send2"], extra=[plt])
