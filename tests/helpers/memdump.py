#!/usr/bin/env python3
"""memdump.py PID OUT: copy every readable private mapping of PID into OUT.

For the tests that look for values left in a daemon's memory: the caller
greps OUT for absence (absent_in in tests/lib.sh), so nothing is printed
but the byte count. Reading /proc/PID/mem of a non-dumpable process takes
root (or CAP_SYS_PTRACE).

Exit status: 0 when at least one page was read, 2 when none could be (a
scan that read nothing must not pass as "nothing found").
"""
import re
import sys

MAP_LINE = re.compile(r"([0-9a-f]+)-([0-9a-f]+) r..p")
MAX_MAPPING = 64 << 20


def main():
    if len(sys.argv) != 3:
        print("usage: memdump.py PID OUT", file=sys.stderr)
        return 2
    pid, out = sys.argv[1], sys.argv[2]
    try:
        maps = open("/proc/%s/maps" % pid).read().splitlines()
        mem = open("/proc/%s/mem" % pid, "rb", 0)
    except OSError as e:
        print("memdump: %s" % e, file=sys.stderr)
        return 2
    total = 0
    with mem, open(out, "wb") as f:
        for line in maps:
            m = MAP_LINE.match(line)
            if not m or "[vvar]" in line or "[vsyscall]" in line:
                continue
            lo, hi = int(m.group(1), 16), int(m.group(2), 16)
            if hi - lo > MAX_MAPPING:
                continue
            try:
                mem.seek(lo)
                f.write(mem.read(hi - lo))
                total += hi - lo
            except OSError:
                pass  # a guard page (sodium_malloc's) cannot be read
    print("memdump: %d bytes read" % total)
    return 0 if total > 0 else 2


if __name__ == "__main__":
    sys.exit(main())
