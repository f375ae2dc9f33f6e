#!/usr/bin/python3
"""The shape rules of the sources: no file over MAX_LINES lines, no function over MAX_FUNC lines.

Functions are found the way the code is written (kernel style): a line that
opens with `{` in column 0 starts a body, the next `}` in column 0 ends it.
Prints one line per breach, then "N passed, N failed" (one check per file).
"""
import pathlib
import sys

MAX_LINES = 600
MAX_FUNC = 100
DIRS = ("collector", "pcap-writer", "probes")


def check(path):
    lines = path.read_text(errors="replace").splitlines()
    bad = []
    if len(lines) > MAX_LINES:
        bad.append(f"{path}: {len(lines)} lines (at most {MAX_LINES})")
    start = None
    for i, line in enumerate(lines):
        if line.startswith("{"):
            start = i
        elif line.startswith("}") and start is not None:
            body = i - start - 1
            if body > MAX_FUNC:
                head = lines[start - 1].strip() if start else "?"
                bad.append(f"{path}:{start}: {head}: {body} lines (at most {MAX_FUNC})")
            start = None
    return bad


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    passed = failed = 0
    for d in DIRS:
        for path in sorted((root / d).rglob("*.[ch]")):
            bad = check(path)
            for b in bad:
                print(b)
            if bad:
                failed += 1
            else:
                passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
