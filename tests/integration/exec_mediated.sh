#!/usr/bin/env bash
# vault-exec end to end: a mediated tool gets its env grant and its file
# (through its own path variable) only through the genuine vault-exec
# running that exact target and argv; a static binary the shim cannot
# enter gets its env grant; run directly, the same tools get nothing;
# a copied vault-exec, a wrong argv and a tool outside the policy are
# refused; the exit status passes through and is audited.
. "$(dirname "$0")/../lib.sh"
vs_clean_env "$@"
vs_begin
[ -x "$VS_BUILD/vault-exec" ] || { echo "not ok 1 - no vault-exec in $VS_BUILD"; exit 1; }
vs_trusted_dir
chmod 711 "$VS_TMP"
V=$VAULTCTL
T=$VS_TRUSTED
X="$VS_BUILD/vault-exec"
SHIM="$VS_BUILD/libvaultshim.so"
HELPERS="$(cd "$(dirname "$0")/../helpers" && pwd)"
PY=/usr/bin/python3
export PYTHONNOUSERSITE=1
# An ASan-built vault-exec aborts when the shim is preloaded ahead of the
# ASan runtime; the check is about link order, not about what is tested.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

check "a static test binary builds (cc -static)" cc -static -O1 -o "$T/envhash" "$HELPERS/exec/envhash.c"
check "it is static: no interpreter, the shim cannot enter it" bash -c '! readelf -lW "$0" | grep -q "Requesting program interpreter"' "$T/envhash"
cp "$HELPERS/exec/tool.py" "$T/tool.py"
{ echo '#!/usr/bin/env python3'; tail -n +2 "$HELPERS/exec/tool.py"; } >"$T/envtool.py"
{ echo '#!/usr/bin/python3 -I'; tail -n +2 "$HELPERS/exec/tool.py"; } >"$T/opttool.py"
chmod 755 "$T/envtool.py" "$T/opttool.py"
cp "$T/envhash" "$T/unlisted"
chmod 755 "$T/envhash" "$T/unlisted" "$T/tool.py"

"$V" init --keyfile >/dev/null
api=$(fake_token api); aws=$(fake_token aws)
printf '%s' "$api" | "$V" save api_token >/dev/null
printf '%s' "$aws" | "$V" save aws_key >/dev/null
cat >"$T/policy.conf" <<CONF
tools = (
  { name = "envhash"; exe = "$T/envhash"; env = { STATIC_TOKEN = "api_token"; }; mediate = true; mask = false; },
  { name = "pytool"; exe = "$PY"; script = "$T/tool.py"; interpreter = true; env = { PY_TOKEN = "api_token"; };
    files = [ "aws" ]; mediate = true; mask = false; allow_args = [ "ok **" ]; },
  { name = "envtool"; exe = "$PY"; script = "$T/envtool.py"; interpreter = true; env = { PY_TOKEN = "api_token"; };
    mediate = true; mask = false; },
  { name = "opttool"; exe = "$PY"; script = "$T/opttool.py"; interpreter = true; env = { PY_TOKEN = "api_token"; };
    mediate = true; mask = false; }
);
files = ( { name = "aws"; path = "$T/home/.aws/credentials";
            template = "[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = {{aws_key}}\n"; } );
CONF
chmod 644 "$T/policy.conf"
check "vaultd starts" vs_start_vaultd "$T/policy.conf"

fnv() { python3 -c 'import sys
h=1469598103934665603
for b in sys.argv[1].encode(): h=((h^b)*1099511628211)&0xffffffffffffffff
print("fnv %016x"%h)' "$1"; }
want_static=$(fnv "$api")
want_env="env $(sha256 "$api")"
want_file="file $(printf '[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = %s\n' "$aws" | sha256sum | cut -d' ' -f1)"

# --- the static binary
check "the static binary gets its env grant through vault-exec" bash -c '"$0" -- "$1" STATIC_TOKEN >"$3" && grep -qx "$2" "$3"' \
    "$X" "$T/envhash" "$want_static" "$VS_TMP/out"
check "run directly it gets nothing" bash -c '"$0" STATIC_TOKEN | grep -qx none' "$T/envhash"
check "its exit status passes through vault-exec" bash -c '"$0" -- "$1" STATIC_TOKEN 7 >/dev/null; [ $? = 7 ]' "$X" "$T/envhash"
check "the run's end is audited with status and duration" bash -c '
    grep "\"event\":\"exec\"" "$VAULT_HOME/audit.log" | tail -1 | grep -q "\"exit_status\":7,\"duration_ms\":[0-9]*"'
check "the grant's audit line names the tool and the target's argv" bash -c '
    grep "\"event\":\"grant\"" "$VAULT_HOME/audit.log" | grep "\"decision\":\"ok\"" | tail -1 |
      grep -q "\"tool\":\"envhash\".*STATIC_TOKEN=api_token@v1"'
check "found through PATH like execvp" bash -c 'PATH="$2:$PATH" "$0" -- envhash STATIC_TOKEN | grep -qx "$1"' \
    "$X" "$want_static" "$T"

# --- the interpreter tool, its file through AWS_SHARED_CREDENTIALS_FILE
check "the python tool gets its env grant through vault-exec" bash -c '"$0" -- "$1" "$2" ok >"$4" && grep -qx "$3" "$4"' \
    "$X" "$PY" "$T/tool.py" "$want_env" "$VS_TMP/out"
check "and its credentials file as a sealed memfd named by AWS_SHARED_CREDENTIALS_FILE" grep -qx "$want_file" "$VS_TMP/out"
# The file comes with the values: CONFIRM says WITH_FILES (vaultd's MEDIATE
# answer offers it), so vaultd reads two frames per run, MEDIATE and
# CONFIRM, and renders in the grant's round (a RENDER_FILE per file made it
# three, and a round and an fsync more).
if command -v strace >/dev/null; then
    strace -f -p "$VAULTD_PID" -e trace=accept4,recvmsg -o "$VS_TMP/frames" 2>"$VS_TMP/strace.err" & spid=$!
    for _ in $(seq 1 100); do grep -q attached "$VS_TMP/strace.err" && break; sleep 0.05; done
    runs=0
    for _ in 1 2 3; do "$X" -- "$PY" "$T/tool.py" ok | grep -qx "$want_file" && runs=$((runs + 1)); done
    sleep 0.2
    kill "$spid"; wait "$spid" 2>/dev/null
    frames=$(grep -cE 'recvmsg\(.* = [1-9][0-9]*$' "$VS_TMP/frames")
    # each run: MEDIATE and CONFIRM on one connection, EXEC_DONE on another
    check "a mediated run with a file: MEDIATE, CONFIRM WITH_FILES, EXEC_DONE ($frames frames for $runs runs)" \
        test "$runs" -eq 3 -a "$frames" -eq 9
else
    not_ok "strace is missing (scripts/install-deps)"
fi
check "python found as python3 in PATH, the script by a relative path" bash -c 'cd "$3" && "$0" -- python3 ./tool.py ok | grep -qx "$2"' \
    "$X" "$PY" "$want_env" "$T"
check "a #!/usr/bin/python3 script named as the target runs as python3 SCRIPT" bash -c '"$0" -- "$1" ok | grep -qx "$2"' \
    "$X" "$T/tool.py" "$want_env"
check "the audit line shows the interpreter command line that ran" bash -c '
    grep "\"event\":\"grant\"" "$VAULT_HOME/audit.log" | tail -1 | grep -qF "\"--\",\"/usr/bin/python3\",\"$0\",\"ok\""' "$T/tool.py"
check "a #!/usr/bin/env python3 script (python3 from PATH) runs too" bash -c '"$0" -- "$1" | grep -qx "$2"' \
    "$X" "$T/envtool.py" "$want_env"
check "a #! line with an interpreter option is refused" err_is 126 'interpreter option' "$X" -- "$T/opttool.py"
check "run directly the python tool gets nothing" bash -c '"$0" "$1" ok | grep -qx "env none"' "$PY" "$T/tool.py"
check "under the shim, run directly, it gets nothing (mediated: refused)" bash -c '
    LD_PRELOAD="$2" "$0" "$1" ok 2>"$3" | grep -qx "env none" && grep -q "mediated" "$3"' "$PY" "$T/tool.py" "$SHIM" "$VS_TMP/err"
check "under the shim, through vault-exec, it gets its grant and file" bash -c '
    LD_PRELOAD="$4" "$0" -- "$1" "$2" ok >"$5" && grep -qx "$3" "$5" && grep -qx "$6" "$5"' \
    "$X" "$PY" "$T/tool.py" "$want_env" "$SHIM" "$VS_TMP/out" "$want_file"

check "under the shim, the mediated tool's children get neither its value nor the marker" bash -c '
    LD_PRELOAD="$3" "$0" -- "$1" "$2" ok child | grep -qx "child marker no token no"' "$X" "$PY" "$T/tool.py" "$SHIM"

# --- routing: under the shim, exec of a mediated tool runs vault-exec
check "under the shim, a shell running the static tool is routed through vault-exec" bash -c '
    LD_PRELOAD="$2" bash -c "\"\$0\" STATIC_TOKEN" "$0" | grep -qx "$1"' "$T/envhash" "$want_static" "$SHIM"
check "under the shim, python3 SCRIPT from a shell is routed" bash -c '
    LD_PRELOAD="$2" bash -c "python3 \"\$0\" ok" "$0" | grep -qx "$1" ' "$T/tool.py" "$want_env" "$SHIM"
check "under the shim, the #! script run by its path is routed (interpreter + script)" bash -c '
    LD_PRELOAD="$2" bash -c "\"\$0\" ok" "$0" | grep -qx "$1"' "$T/tool.py" "$want_env" "$SHIM"
check "under the shim, posix_spawn (python subprocess) is routed" bash -c '
    LD_PRELOAD="$2" python3 -c "import subprocess,sys; subprocess.run([sys.argv[1], \"STATIC_TOKEN\"])" "$0" | grep -qx "$1"' \
    "$T/envhash" "$want_static" "$SHIM"
check "the routed run is audited as vault-exec's (argv: vault-exec -- target)" bash -c '
    grep "\"event\":\"grant\"" "$VAULT_HOME/audit.log" | tail -1 | grep -qF "\"vault-exec\",\"--\","'
check "without the shim, no routing: the static tool run by a shell gets nothing" bash -c '
    bash -c "\"\$0\" STATIC_TOKEN" "$0" | grep -qx none' "$T/envhash"

# --- refusals
check "an argv outside allow_args is refused (exit 126, one line)" err_is 126 '^vaultshim: [^:]*: no grant: arguments refused by policy' \
    "$X" -- "$PY" "$T/tool.py" bad
check "the refusal is audited" bash -c 'grep "\"event\":\"mediate\"" "$VAULT_HOME/audit.log" | tail -1 |
    grep -q "\"decision\":\"denied\".*arguments refused"'
check "an interpreter option before the script is refused" err_is 126 'needs its script first' \
    "$X" -- "$PY" -c 'print(1)' "$T/tool.py" ok
check "a target in no tool of the policy is refused" err_is 126 'no tool in the policy is vault-exec.s target' \
    "$X" -- "$T/unlisted" STATIC_TOKEN
mkdir -p "$T/fake"; chmod 755 "$T/fake"; cp "$X" "$T/fake/vault-exec"
check "a copy of vault-exec elsewhere (trusted folder) is refused" err_is 126 'is not the vault-exec installed beside vaultd' \
    "$T/fake/vault-exec" -- "$T/envhash" STATIC_TOKEN
cp "$X" "$VS_TMP/vault-exec"
check "a copy of vault-exec in /tmp is refused" err_is 126 'is not the vault-exec installed beside vaultd' \
    "$VS_TMP/vault-exec" -- "$T/envhash" STATIC_TOKEN
cat >"$T/fake/vault-exec.py" <<'PY'
# A "vault-exec" of the agent's own: speaks the protocol, asks MEDIATE for
# a genuine target fd it holds open.
import os, socket, struct, sys
fd = os.open(sys.argv[2], os.O_RDONLY)
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.send(struct.pack("<BBHI", 1, 0x09, 0, 1) + struct.pack("<HII", 13, 4, fd))
r = s.recv(70000)
print("reply", hex(r[1]), r[8:].decode("latin1"))
PY
check "a script speaking MEDIATE itself is refused" bash -c '"$0" "$1" "$VAULT_SOCKET" "$2" | grep -aq "^reply 0x81 .*is not the vault-exec installed beside vaultd"' \
    "$PY" "$T/fake/vault-exec.py" "$T/envhash"
check "a fake EXEC_DONE (a forged exit status) is refused and audited" bash -c '"$0" -c "
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.connect(sys.argv[1])
s.send(struct.pack(\"<BBHI\", 1, 0x0a, 0, 1) + struct.pack(\"<HII\", 14, 4, 0) + struct.pack(\"<HII\", 15, 4, 5))
print(hex(s.recv(70000)[1]))" "$VAULT_SOCKET" | grep -qx 0x81 &&
    grep "\"event\":\"exec\"" "$VAULT_HOME/audit.log" | tail -1 | grep -q "\"decision\":\"denied\".*not the vault-exec"' "$PY"
check "a bad command line is a usage error" err_is 2 '^usage: vault-exec' "$X" "$T/envhash"
check "a missing target exits 127" err_is 127 'not found' "$X" -- no-such-tool-xyz
check "no value in the audit log or the daemon's log" absent_in "$api" "$VAULT_HOME" "$VS_TMP/vaultd.log"
check "no value of the file secret either" absent_in "$aws" "$VAULT_HOME" "$VS_TMP/vaultd.log"
vs_end
