#!/usr/bin/env python3
"""Writes testdata/go/*.seed: small Go programs for fuzz_go_elf, one per function table layout.

Each seed is fuzz_go_elf's compact input (see the top of fuzz_go_elf.c):
crypto/tls.(*Conn).Read and .Write (a few instructions, padded with INT3)
in a function table of the given layout, and build information in the
Go 1.18+ inline form or the older pointer form. Run from the repository
root; the output is the same on every run.
"""
import os
import struct

BASE = 0x400000
CODE_VADDR = BASE + 0x1000
INFO_VADDR = BASE + 0x11000
NAMES = [b"crypto/tls.(*Conn).Read", b"crypto/tls.(*Conn).Write"]
# Each begins with Go's stack check (register ABI), as go_elf requires:
#   cmp rsp,[r14+16]; xor eax,eax; ret
#   lea r12,[rsp-8]; cmp r12,[r14+16]; xor eax,eax; je +1; ret; ret
# (INT3 padding to 16)
FUNCS = [b"\x49\x3b\x66\x10\x31\xc0\xc3",
         b"\x4c\x8d\x64\x24\xf8\x4d\x3b\x66\x10\x31\xc0\x74\x01\xc3\xc3"]
FUNC_RECORD = 40  # bytes of each _func record (the fields after the name are zero)


def code():
    return b"".join(f.ljust(16, b"\xcc") for f in FUNCS)


def names():
    table, offs = b"", []
    for n in NAMES:
        offs.append(len(table))
        table += n + b"\0"
    return table, offs


def rows_and_records(word, entry, nameoffs, records_at):
    """The function table's rows and end entry, and the _func records.

    word: "I" (32-bit, 1.18+) or "Q"; entry(i): what the table says for
    function i; records_at: where the records start, counted as the rows'
    record offsets count.
    """
    rows, recs = b"", b""
    for i in range(len(FUNCS)):
        rows += struct.pack("<" + word * 2, entry(i), records_at + len(recs))
        recs += struct.pack("<" + word + "i", entry(i), nameoffs[i]).ljust(FUNC_RECORD, b"\0")
    return rows + struct.pack("<" + word, entry(len(FUNCS))), recs


def table_118(magic):
    """Go 1.18+: 8 header words; 32-bit rows counted from textStart."""
    header_len = 8 + 8 * 8
    nametab, nameoffs = names()
    functab = header_len + len(nametab)
    rows, recs = rows_and_records("I", lambda i: 16 * i, nameoffs, 8 * len(FUNCS) + 4)
    hdr = struct.pack("<IBBBB", magic, 0, 0, 1, 8)
    hdr += struct.pack("<8Q", len(FUNCS), 0, CODE_VADDR, header_len, functab, functab, functab,
                       functab)
    return hdr + nametab + rows + recs


def table_116():
    """Go 1.16-1.17: 7 header words; 64-bit rows of addresses."""
    header_len = 8 + 7 * 8
    nametab, nameoffs = names()
    functab = header_len + len(nametab)
    rows, recs = rows_and_records("Q", lambda i: CODE_VADDR + 16 * i, nameoffs,
                                  16 * len(FUNCS) + 8)
    hdr = struct.pack("<IBBBB", 0xFFFFFFFA, 0, 0, 1, 8)
    hdr += struct.pack("<7Q", len(FUNCS), 0, header_len, functab, functab, functab, functab)
    return hdr + nametab + rows + recs


def table_12():
    """Go 1.2-1.15: nfunc, then the rows; every offset from the table's start."""
    recs_at = 16 + 16 * len(FUNCS) + 8
    nametab, nameoffs = names()
    names_at = recs_at + FUNC_RECORD * len(FUNCS)
    rows, recs = rows_and_records("Q", lambda i: CODE_VADDR + 16 * i,
                                  [names_at + o for o in nameoffs], recs_at)
    hdr = struct.pack("<IBBBBQ", 0xFFFFFFFB, 0, 0, 1, 8, len(FUNCS))
    return hdr + rows + recs + nametab


MAGIC = b"\xff Go buildinf:"


def info_inline(version):
    v = version.encode()
    return MAGIC + bytes([8, 2]) + b"\0" * 16 + bytes([len(v)]) + v + b"\0"


def info_pointer(version):
    """Before 1.18: the address of a Go string header, which points at the bytes."""
    v = version.encode()
    strhdr_at, bytes_at = INFO_VADDR + 32, INFO_VADDR + 48
    return (MAGIC + bytes([8, 0]) + struct.pack("<QQ", strhdr_at, 0)
            + struct.pack("<QQ", bytes_at, len(v)) + v)


def seed(flags, table, info):
    return bytes([flags]) + struct.pack("<HH", len(table), len(info)) + table + info + code()


SEEDS = {
    "go120": seed(0, table_118(0xFFFFFFF1), info_inline("go1.21.5")),
    "go119": seed(0, table_118(0xFFFFFFF0), info_inline("go1.19.8")),
    "go119-pie-noshdr": seed(3, table_118(0xFFFFFFF0), info_inline("go1.19.8")),
    "go117": seed(0, table_116(), info_pointer("go1.17.13")),
    "go116-noinfo": seed(0, table_116(), b""),
    "go115": seed(0, table_12(), info_pointer("go1.15.15")),
}

if __name__ == "__main__":
    os.makedirs("testdata/go", exist_ok=True)
    for name, data in sorted(SEEDS.items()):
        with open(f"testdata/go/{name}.seed", "wb") as f:
            f.write(data)
