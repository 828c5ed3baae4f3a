#!/usr/bin/env bash
# Approvals end to end with the real CLI: a held request is listed by
# vaultctl pending, approved from the owner's terminal (the pty that
# unlocked the vault) and the tool runs; denied; timed out; approvals from
# the agent's own process (no terminal, another terminal, the requester's
# own terminal) refused; the passphrase as the other human factor;
# --for/--uses bounds; approve_args only for matching actions; the
# notify_command; an audit line for every step.
. "$(dirname "$0")/../lib.sh"
vs_clean_env "$@"
vs_begin
[ -x "$VS_BUILD/vault-exec" ] || { echo "not ok 1 - no vault-exec in $VS_BUILD"; exit 1; }
vs_trusted_dir
chmod 711 "$VS_TMP"
V=$VAULTCTL
T=$VS_TRUSTED
X="$VS_BUILD/vault-exec"
HELPERS="$(cd "$(dirname "$0")/../helpers" && pwd)"
PTY="$HELPERS/pty_run.py"
OWNER="$HELPERS/exec/owner.sh"
PY=/usr/bin/python3
export PYTHONNOUSERSITE=1

cc -static -O1 -o "$T/envhash" "$HELPERS/exec/envhash.c" || { echo "not ok 1 - cc -static"; exit 1; }
cp "$HELPERS/exec/tool.py" "$T/tool.py"
chmod 755 "$T/envhash"; chmod 644 "$T/tool.py"
cat >"$T/notify.py" <<'PY'
import sys
with open(sys.argv[1], "a") as f:
    f.write(" | ".join(sys.argv[2:]) + "\n")
PY
chmod 644 "$T/notify.py"
pass="$VS_TMP/pass"; head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$pass"; echo >>"$pass"
"$V" init --kdf interactive --passphrase-fd 3 3<"$pass" >/dev/null
api=$(fake_token api)
printf '%s' "$api" | "$V" save api_token --passphrase-fd 3 3<"$pass" >/dev/null
# Under memcheck (make valgrind) one passphrase check (Argon2, 64 MB) takes
# longer than 4 s: a request would expire before it is approved.
approve_s=4
[ -n "${VS_VALGRIND:-}" ] && approve_s=40
cat >"$T/policy.conf" <<CONF
vault = { approve_timeout = $approve_s; notify_command = [ "$PY", "$T/notify.py", "$VS_TMP/notified" ]; };
tools = (
  { name = "appr"; exe = "$T/envhash"; env = { STATIC_TOKEN = "api_token"; }; approve = true; mask = false; },
  { name = "pyappr"; exe = "$PY"; script = "$T/tool.py"; interpreter = true; env = { PY_TOKEN = "api_token"; };
    approve_args = [ "release **" ]; mask = false; }
);
CONF
chmod 644 "$T/policy.conf"
check "vaultd starts (passphrase vault, locked)" vs_start_vaultd "$T/policy.conf"
want=$(python3 -c 'import sys
h=1469598103934665603
for b in sys.argv[1].encode(): h=((h^b)*1099511628211)&0xffffffffffffffff
print("fnv %016x"%h)' "$api")

# owner ACTION [OPTS]: the owner's terminal session in the background;
# waits until the vault is unlocked. Sets OWNER_PID.
owner() {
    "$V" lock >/dev/null # so that "unlocked" below is this session's unlock
    "$PTY" --transcript "$VS_TMP/pty.$1" --expect "Vault passphrase: " "$pass" -- "$OWNER" "$V" "$VS_TMP/o.$1" "$@" &
    OWNER_PID=$!
    for _ in $(seq 1 100); do "$V" status 2>/dev/null | grep -q "^state: unlocked" && return 0; sleep 0.1; done
    return 1
}
run_x() { "$X" --agent claude -- "$T/envhash" STATIC_TOKEN >"$VS_TMP/out" 2>"$VS_TMP/err"; }
audit_has() { grep "\"event\":\"approval\"" "$VAULT_HOME/audit.log" | grep -q -- "$1"; }
wait_pending() { for _ in $(seq 1 50); do "$V" pending | grep -q "^id $1 " && return 0; sleep 0.1; done; return 1; }

# --- approved from the owner's terminal
owner approve
run_x; rc=$?
wait "$OWNER_PID"; owner_rc=$?
check "approved from the owner's terminal, the tool runs with its grant" bash -c '[ "$0" = 0 ] && grep -qx "$1" "$2"' "$rc" "$want" "$VS_TMP/out"
check "the owner's session answered (vaultctl approve printed it)" bash -c '[ "$0" = 0 ] && grep -q "approved request 1 (tty [0-9]*:[0-9]*)" "$1"' \
    "$owner_rc" "$VS_TMP/pty.approve"
check "pending listed agent, exe, its sha256, argv, cwd, secrets, age" bash -c 'f=$0.pending
    grep -q "^id 1  age [0-9]*s  agent claude  tool appr" "$f" && grep -qF "exe     $1" "$f" &&
    grep -q "sha256  $(sha256sum "$1" | cut -d" " -f1)" "$f" && grep -qF "argv    [\"$1\", \"STATIC_TOKEN\"]" "$f" &&
    grep -qF "cwd     $PWD" "$f" && grep -q "secrets STATIC_TOKEN=api_token" "$f"' "$VS_TMP/o.approve" "$T/envhash"
check "audit: requested, approved by the tty, then the grant" bash -c '
    grep "\"event\":\"approval\"" "$VAULT_HOME/audit.log" | grep -q "\"decision\":\"requested\".*\"request\":1" &&
    grep "\"event\":\"approval\"" "$VAULT_HOME/audit.log" | grep -q "\"decision\":\"approved\".*\"request\":1,\"by\":\"tty [0-9]*:[0-9]*\"" &&
    grep "\"event\":\"grant\"" "$VAULT_HOME/audit.log" | tail -1 | grep -q "\"decision\":\"ok\".*\"tool\":\"appr\""'
check "the notify_command ran for the request, with its id" grep -q "^1 | vaultshim: claude wants to run appr" "$VS_TMP/notified"

# --- denied
owner deny
run_x; rc=$?
wait "$OWNER_PID"
check "denied: vault-exec refuses with one line, exit 126, tool not run" bash -c '[ "$0" = 126 ] && [ ! -s "$1" ] &&
    grep -qxE "vaultshim: [^:]+: no grant: denied by the owner \(vaultctl deny\)" "$2"' "$rc" "$VS_TMP/out" "$VS_TMP/err"
check "audit: denied" audit_has '"decision":"denied".*"request":2'

# --- the agent's own attempts, then a timeout
run_x & XPID=$!
wait_pending 3
check "an approval from the agent's own process (no terminal) is refused" bash -c '! "$0" approve 3 2>"$1" &&
    grep -q "only the owner.s terminal" "$1"' "$V" "$VS_TMP/err.agent"
check "an approval from another terminal (a new pty) is refused" bash -c '! "$0" --transcript "$1" -- "$2" approve 3 &&
    grep -q "only the owner.s terminal\|not the terminal session that unlocked" "$1"' "$PTY" "$VS_TMP/pty.other" "$V"
check "the refusals are audited" audit_has '"decision":"refused".*"request":3'
wait "$XPID"; rc=$?
check "no answer within approve_timeout is a denial" bash -c '[ "$0" = 126 ] && grep -q "no approval within $3 s" "$1" && [ ! -s "$2" ]' \
    "$rc" "$VS_TMP/err" "$VS_TMP/out" "$approve_s"
check "audit: expired" audit_has '"decision":"expired".*"request":3'

# --- a process on the owner's terminal that the shell did not start itself
owner nested
run_x; rc=$?
wait "$OWNER_PID"
check "an approval on the owner's terminal by a child of a child of its shell (an agent's) is refused" bash -c '
    grep -q "only a command typed at the owner.s shell may approve" "$0" && [ "$1" = 126 ]' "$VS_TMP/pty.nested" "$rc"

# --- the passphrase as the human factor, from no terminal
run_x & XPID=$!
wait_pending 5
check "an approval with a wrong passphrase is refused" bash -c '! "$0" approve 5 --passphrase --passphrase-fd 3 3<<<"wrong-pass" 2>/dev/null' "$V"
check "an approval with the passphrase is accepted" bash -c '"$0" approve 5 --passphrase --passphrase-fd 3 3<"$1" | grep -q "approved request 5 (passphrase)"' "$V" "$pass"
wait "$XPID"; rc=$?
check "and the tool ran" bash -c '[ "$0" = 0 ] && grep -qx "$1" "$2"' "$rc" "$want" "$VS_TMP/out"

# --- the requester on the owner's own terminal
OWNER_TARGET_X=$X OWNER_TARGET=$T/envhash owner same-tty
export OWNER_TARGET_X OWNER_TARGET
wait "$OWNER_PID"
check "a request from the owner's terminal cannot be approved from that terminal" \
    grep -q "the request comes from the owner.s terminal itself" "$VS_TMP/pty.same-tty"

# --- --for and --uses
owner approve --for 1m --uses 2
run_x; rc=$?
wait "$OWNER_PID"
check "approved --for 1m --uses 2: the run goes" bash -c '[ "$0" = 0 ] && grep -qx "$1" "$2"' "$rc" "$want" "$VS_TMP/out"
check "the same executable and arguments run again without asking (use 1 of 1 left)" bash -c '
    timeout 3 "$0" -- "$1" STATIC_TOKEN | grep -qx "$2"' "$X" "$T/envhash" "$want"
check "audit: used, with the uses left" audit_has '"decision":"used".*"uses_left":0'
held_while() { # held_while PATTERN CMD...: CMD is held, and pending shows PATTERN meanwhile
    local pat=$1 p found=1; shift
    "$@" >/dev/null 2>&1 & p=$!
    for _ in $(seq 1 30); do "$V" pending | grep -qF -- "$pat" && { found=0; break; }; sleep 0.1; done
    kill "$p" 2>/dev/null; wait "$p" 2>/dev/null
    return $found
}
check "other arguments are asked for again" held_while '"STATIC_TOKEN", "other"]' "$X" -- "$T/envhash" STATIC_TOKEN other
check "a withdrawn request is audited" bash -c 'for _ in $(seq 1 30); do
    grep "\"event\":\"approval\"" "$VAULT_HOME/audit.log" | grep -q "\"decision\":\"withdrawn\"" && exit 0; sleep 0.1; done; exit 1'
check "after --uses runs, the same run is held again" held_while '"STATIC_TOKEN"]' "$X" -- "$T/envhash" STATIC_TOKEN

# --- a held run with a value in its argv (`tool --token $T`): the listing
# masks it as the audit line does
"$X" -- "$T/envhash" STATIC_TOKEN "--token=$api" >/dev/null 2>&1 & p=$!
for _ in $(seq 1 30); do "$V" pending >"$VS_TMP/pending.argv" && grep -q "^id " "$VS_TMP/pending.argv" && break; sleep 0.1; done
kill "$p" 2>/dev/null; wait "$p" 2>/dev/null
check "pending lists a held run's argv with the value as ********" \
    grep -qF '"STATIC_TOKEN", "--token=********"]' "$VS_TMP/pending.argv"
check "and the value is nowhere in the listing" absent_in "$api" "$VS_TMP/pending.argv"

# --- approve_args: only matching actions wait
check "approve_args: a non-matching action runs without approval" bash -c '
    timeout 3 "$0" -- "$1" "$2" status | grep -qx "env $3"' "$X" "$PY" "$T/tool.py" "$(sha256 "$api")"
check "a matching action is held" held_while 'because approve_args "release **"' "$X" -- "$PY" "$T/tool.py" release v1
check "a tool with approve_args asked for directly through GRANTS is refused, even for other actions" bash -c '
    LD_PRELOAD="$2" "$0" "$1" status 2>"$3" | grep -qx "env none" && grep -q "mediated" "$3"' "$PY" "$T/tool.py" "$VS_BUILD/libvaultshim.so" "$VS_TMP/err"
# --- approve --watch: the owner's terminal view, answered y then n
printf 'y\n' >"$VS_TMP/yes"; printf 'n\n' >"$VS_TMP/no"; printf 'q\n' >"$VS_TMP/quit"
"$V" lock >/dev/null
"$PTY" --transcript "$VS_TMP/pty.watch" --expect "Vault passphrase: " "$pass" \
    --expect "approve request [0-9]+\? \[y/n" "$VS_TMP/yes" --expect "approve request [0-9]+\? \[y/n" "$VS_TMP/no" \
    --expect "denied request [0-9]+" "$VS_TMP/quit" -- bash -c '"$0" unlock && exec "$0" approve --watch' "$V" &
WPID=$!
for _ in $(seq 1 100); do "$V" status 2>/dev/null | grep -q "^state: unlocked" && break; sleep 0.1; done
run_x; rc1=$?
"$X" --agent claude -- "$T/envhash" STATIC_TOKEN second >"$VS_TMP/out2" 2>"$VS_TMP/err2"; rc2=$?
wait "$WPID"; wrc=$?
check "watch: the request was shown as it arrived (exe, argv) and y ran the tool" bash -c '[ "$0" = 0 ] && grep -qx "$1" "$2" &&
    grep -aqF "argv    [\"$4\", \"STATIC_TOKEN\"]" "$3" && grep -aq "approved request [0-9]* (tty" "$3"' \
    "$rc1" "$want" "$VS_TMP/out" "$VS_TMP/pty.watch" "$T/envhash"
check "watch: n denied the next one" bash -c '[ "$0" = 126 ] && grep -q "denied by the owner" "$1"' "$rc2" "$VS_TMP/err2"
check "watch: q ended the view" test "$wrc" = 0
# --- the same listing with the vault locked: no values to compare with, so
# every argument is masked (the audit lines written meanwhile too)
"$X" -- "$T/envhash" STATIC_TOKEN "--token=$api" >/dev/null 2>&1 & p=$!
for _ in $(seq 1 30); do "$V" pending 2>/dev/null | grep -q "^id " && break; sleep 0.1; done
"$V" lock >/dev/null
"$V" pending >"$VS_TMP/pending.locked" 2>&1
kill "$p" 2>/dev/null; wait "$p" 2>/dev/null
check "locked: pending lists the held run with every argument masked" \
    grep -qF 'argv    ["********", "********", "********"]' "$VS_TMP/pending.locked"
check "no value in the audit log, the daemon's log or the transcripts" absent_in "$api" "$VAULT_HOME" "$VS_TMP/vaultd.log" "$VS_TMP"/pty.* "$VS_TMP"/o.* "$VS_TMP"/pending.*
vs_end
