#!/usr/bin/env bash
# scripts/vault-entrypoint without a container engine: run as root with two
# users made here (random suffix, removed by the trap), in an installed
# layout (bin/, lib/vaultshim/) under /run. vaultd runs as the vault user
# with only CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH; the agent, as the other
# user in a new pid namespace where the entrypoint is PID 1, cannot read the
# key file, the policy or the store, has no protected value in its
# environment, and still gets the netrc served to curl, which authenticates
# against a loopback server. The agent's exit status comes back; SIGTERM to
# the entrypoint reaches the agent, the entrypoint exits 143 and leaves no
# vaultd; orphans are reaped (no zombies); unsafe set-ups are refused.
. "$(dirname "$0")/../lib.sh"
vs_clean_env "$@"
vs_begin
if [ "$(id -u)" != 0 ]; then
    not_ok "entrypoint.sh must run as root (it creates two users and starts vaultd as one of them)"; vs_end; exit 1
fi
missing=""
for p in setpriv useradd userdel unshare curl python3 pgrep ps; do
    command -v "$p" >/dev/null || missing="$missing $p"
done
[ -z "$missing" ] || { not_ok "missing:$missing (scripts/install-deps)"; vs_end; exit 1; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HELPERS="$ROOT/tests/helpers"

suffix=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
VU="vsv$suffix" AU="vsa$suffix"
W=$(mktemp -d /run/vs-ep.XXXXXX) && chmod 755 "$W"
vs_add_cleanup "pkill -KILL -u '$AU' 2>/dev/null; pkill -KILL -u '$VU' 2>/dev/null; userdel '$AU' 2>/dev/null; userdel '$VU' 2>/dev/null; rm -rf '$W'"
check "two users with unique names" bash -c 'useradd -r -M -s /usr/sbin/nologin "$0" && useradd -M -d "$2/agent" -s /bin/bash "$1"' \
    "$VU" "$AU" "$W"
AH="$W/agent"
install -d -o "$AU" -g "$(id -g "$AU")" -m 700 "$AH"

# The installed layout, root-owned (vaultd trusts the shim only there).
install -d -m 755 "$W/bin" "$W/lib/vaultshim" "$W/etc"
install -m 755 "$VS_BUILD/vaultd" "$VS_BUILD/vaultctl" "$ROOT/scripts/vault-run" "$ROOT/scripts/vault-entrypoint" "$W/bin/"
install -m 644 "$VS_BUILD/libvaultshim.so" "$W/lib/vaultshim/"
# make valgrind: vaultctl is a wrapper running vaultctl.real beside it under memcheck
[ -n "${VS_VALGRIND:-}" ] && install -m 755 "$VS_BUILD/vaultctl.real" "$W/bin/"
EP="$W/bin/vault-entrypoint"

# The vault: made by the vault user, key file 0600, policy 0400.
VH="$W/vault" CONF="$W/etc/vaultshim.conf"
install -d -o "$VU" -g "$(id -g "$VU")" -m 700 "$VH"
as_vault() { setpriv --reuid="$VU" --regid="$(id -g "$VU")" --clear-groups env -i PATH=/usr/bin:/bin VAULT_HOME="$VH" "$@"; }
api=$(fake_token api); leak=$(fake_token leak)
make_vault() {
    as_vault "$W/bin/vaultctl" init --keyfile >/dev/null && printf '%s' "$api" | as_vault "$W/bin/vaultctl" save api_token >/dev/null
}
check "the vault user makes a key-file vault and saves a token" make_vault
cat >"$CONF" <<CONF
protect = [ "*_TOKEN" ];
tools = ( { name = "curl"; exe = "/usr/bin/curl"; files = [ "netrc" ];
            allow_args = [ "--netrc -fsS http://127.0.0.1:[0-9]*/" ]; } );
files = ( { name = "netrc"; path = "$AH/.netrc";
            template = "machine 127.0.0.1 login agent password {{api_token}}\n"; } );
CONF
chown "$VU:$(id -g "$VU")" "$CONF" && chmod 400 "$CONF"
check "key file 0400 or 0600 and policy 0400, both the vault user's" bash -c '
    case "$(stat -c "%a %U" "$0/vault.key")" in "400 $2"|"600 $2") ;; *) exit 1 ;; esac && [ "$(stat -c "%a %U" "$1")" = "400 $2" ]' "$VH" "$CONF" "$VU"

printf '%s\n' "$api" >"$VS_TMP/server-token"
python3 "$HELPERS/auth_server.py" "$VS_TMP/server-token" 300 >"$VS_TMP/port" 2>/dev/null &
vs_add_cleanup "kill $! 2>/dev/null"
for _ in $(seq 1 100); do [ -s "$VS_TMP/port" ] && break; sleep 0.05; done
PORT=$(cat "$VS_TMP/port")
check "the loopback server requires the token" bash -c '! curl -fsS "http://127.0.0.1:$0/" >/dev/null 2>&1' "$PORT"

SOCK="$W/sock/vaultd.sock"
# ep [unshare] ARGS...: the entrypoint as root, with a leaked token in its
# environment; stdout+stderr in $VS_TMP/ep.out, status in $rc.
ep_env=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 API_TOKEN="$leak" GH_TOKEN="$leak"
        VAULTSHIM_VAULT_USER="$VU" VAULTSHIM_AGENT_USER="$AU" VAULT_HOME="$VH" VAULT_CONFIG="$CONF" VAULT_SOCKET="$SOCK")
pid1() { unshare --pid --fork --mount-proc "$@"; }

# --- 1: PID 1, the agent's view, the grant, the exit status
cat >"$W/agent.sh" <<'SH'
#!/bin/bash
exec >"$HOME/out" 2>&1
echo "uid $(id -u) groups $(id -G)"
grep -E '^(CapEff|CapBnd|CapAmb|NoNewPrivs):' /proc/self/status | tr -s '\t ' ' '
cat "$VK" 2>&1 | sed 's/^/keyfile: /'
cat "$VC" 2>&1 | sed 's/^/policy: /'
ls "$VH" 2>&1 | sed 's/^/store: /'
echo "env [$API_TOKEN][$GH_TOKEN] $(env | grep -c TOKEN)"
vpid=$(pgrep -x vaultd)
grep -E '^(Uid|CapEff|CapBnd|NoNewPrivs):' "/proc/$vpid/status" | tr -s '\t ' ' ' | sed 's/^/vaultd /'
echo "mypid1 $(ps -o comm= -p 1)"
kill -TERM "$vpid" 2>&1 | sed 's/^/kill-vaultd: /'
cat "/proc/$vpid/environ" 2>&1 | sed 's/^/vaultd-environ: /'
ls "/proc/$vpid/fd" 2>&1 | head -1 | sed 's/^/vaultd-fds: /'
touch "$(dirname "$VAULT_SOCKET")/x" 2>&1 | sed 's/^/sockdir-write: /' 
VAULTCTL_BIN="$VB/vaultctl"
"$VAULTCTL_BIN" lock --socket "$VAULT_SOCKET" 2>&1 | sed 's/^/lock: /'
"$VAULTCTL_BIN" status --socket "$VAULT_SOCKET" 2>&1 | head -1 | sed 's/^/status: /' 
echo "curl $(curl --netrc -fsS "http://127.0.0.1:$PORT/" 2>&1)"
echo "curl-other $(curl --netrc -sS "http://127.0.0.1:$PORT/x" 2>&1 | head -2 | tr '\n' '|')"
exit 7
SH
chmod 755 "$W/agent.sh"
"${ep_env[@]}" VK="$VH/vault.key" VC="$CONF" VH="$VH" VB="$W/bin" PORT="$PORT" \
    bash -c 'exec unshare --pid --fork --mount-proc "$@"' _ "$EP" -- "$W/agent.sh" >"$VS_TMP/ep.out" 2>&1
rc=$?
O="$AH/out"
check "the agent's exit status comes back (7)" [ "$rc" = 7 ]
check "the entrypoint was PID 1 of its pid namespace" grep -q '^mypid1 vault-entrypoint\|^mypid1 bash' "$O"
check "the agent runs as its user, no capabilities, no new privileges" bash -c '
    grep -qx "uid $1 groups $2" "$0" && grep -qx "CapEff: 0000000000000000" "$0" && grep -qx "CapBnd: 0000000000000000" "$0" &&
    grep -qx "NoNewPrivs: 1" "$0"' "$O" "$(id -u "$AU")" "$(id -G "$AU")"
check "the agent cannot read the key file (permission denied)" grep -q '^keyfile: .*Permission denied' "$O"
check "the agent cannot read the policy (permission denied)" grep -q '^policy: .*Permission denied' "$O"
check "the agent cannot list the store's folder (permission denied)" grep -q '^store: .*Permission denied' "$O"
check "the agent's environment has no protected name" grep -qx 'env \[\]\[\] 0' "$O"
check "vaultd runs as the vault user with CAP_SYS_PTRACE + CAP_DAC_READ_SEARCH only" bash -c '
    grep -q "^vaultd Uid: $1 " "$0" && grep -qx "vaultd CapEff: 0000000000080004" "$0" &&
    grep -qx "vaultd CapBnd: 0000000000080004" "$0" && grep -qx "vaultd NoNewPrivs: 1" "$0"' "$O" "$(id -u "$VU")"
check "the agent cannot signal vaultd, read its environ or fds, or write in the socket folder" bash -c '
    grep -q "^kill-vaultd: .*Operation not permitted" "$0" && grep -q "^vaultd-environ: .*Permission denied" "$0" &&
    grep -q "^vaultd-fds: .*Permission denied" "$0" && grep -q "^sockdir-write: .*Permission denied" "$0"' "$O"
check "the agent cannot lock vaultd or ask its status (owner only)" bash -c '
    grep -q "^lock: .*only the vault owner" "$0" && grep -q "^status: .*only the vault owner" "$0"' "$O"
check "curl (allowlisted) authenticates with the served netrc" grep -qx 'curl welcome' "$O"
check "curl outside its allow list gets no credential (401)" grep -q '^curl-other .*who are you' "$O"
check "vaultd audited the grant to the agent's uid" bash -c '
    grep "\"event\":\"grant\"" "$0" | grep -q "\"uid\":$1"' "$VH/audit.log" "$(id -u "$AU")"
check "vaultd was stopped cleanly by the entrypoint" grep -q 'vaultd: stopped' "$VS_TMP/ep.out"
check "no value in anything the agent or the entrypoint printed" bash -c '
    . "$0"; absent_in "$1" "$3" "$4" && absent_in "$2" "$3" "$4"' "$ROOT/tests/lib.sh" "$api" "$leak" "$O" "$VS_TMP/ep.out"

# --- 2: SIGTERM reaches the agent; 143; no vaultd left (not PID 1 here)
cat >"$W/agent-wait.sh" <<'SH'
#!/bin/bash
trap 'echo hup >>"$HOME/sig"' HUP
trap 'echo int >>"$HOME/sig"' INT
trap 'echo term >>"$HOME/sig"; exit 143' TERM
echo ready >"$HOME/ready"
while :; do sleep 0.1; done
SH
chmod 755 "$W/agent-wait.sh"
rm -f "$AH/sig" "$AH/ready"
# (a background job of this script starts with SIGINT ignored, and a run
# under nohup with SIGHUP ignored: reset both,
# as it is for a container's PID 1)
"${ep_env[@]}" env --default-signal=INT,HUP "$EP" -- "$W/agent-wait.sh" >"$VS_TMP/ep2.out" 2>&1 &
ep=$!
for _ in $(seq 1 200); do [ -f "$AH/ready" ] && break; sleep 0.05; done
check "the agent started" [ -f "$AH/ready" ]
check "vaultd runs as the vault user while the agent runs" bash -c 'pgrep -u "$0" -x vaultd >/dev/null' "$VU"
kill -HUP "$ep"
for _ in $(seq 1 100); do grep -q hup "$AH/sig" 2>/dev/null && break; sleep 0.05; done
kill -INT "$ep"
for _ in $(seq 1 100); do grep -q int "$AH/sig" 2>/dev/null && break; sleep 0.05; done
check "SIGHUP and SIGINT to the entrypoint reach the agent, which goes on" bash -c '
    [ "$(tr "\n" " " <"$0")" = "hup int " ] && kill -0 "$1"' "$AH/sig" "$ep"
kill -TERM "$ep"
wait "$ep"; rc=$?
check "SIGTERM to the entrypoint: it exits 143" [ "$rc" = 143 ]
check "... the agent got SIGTERM" bash -c '[ "$(tail -1 "$0")" = term ]' "$AH/sig"
check "... and no process of the vault user is left" bash -c '! pgrep -u "$0" >/dev/null' "$VU"
check "... nor of the agent's user" bash -c '! pgrep -u "$0" >/dev/null' "$AU"
check "... and the socket is gone" [ ! -e "$SOCK" ]

# --- 3: orphans re-parented to PID 1 are reaped
cat >"$W/agent-orphans.sh" <<'SH'
#!/bin/bash
for i in 1 2 3; do (sleep 0.2 &); done
sleep 1.5
ps -eo stat=,ppid=,comm= >"$HOME/ps"
SH
chmod 755 "$W/agent-orphans.sh"
"${ep_env[@]}" bash -c 'exec unshare --pid --fork --mount-proc "$@"' _ "$EP" -- "$W/agent-orphans.sh" >"$VS_TMP/ep3.out" 2>&1
rc=$?
check "orphans: the agent ran (exit 0)" [ "$rc" = 0 ]
check "orphans of the agent were reaped by PID 1 (no zombie)" bash -c '[ -s "$0" ] && ! grep -q "^Z" "$0"' "$AH/ps"

# --- 4: fail closed: the same vaultd without the two capabilities cannot
# inspect the agent's processes, and grants nothing
mkdir -p "$W/sock2"
chown "$VU:$(id -g "$AU")" "$W/sock2" && chmod 710 "$W/sock2"
setpriv --reuid="$VU" --regid="$(id -g "$VU")" --groups="$(id -g "$AU")" --no-new-privs --inh-caps=-all \
    --bounding-set=-all -- "$W/bin/vaultd" --config "$CONF" --home "$VH" --keyfile "$VH/vault.key" \
    --socket "$W/sock2/vaultd.sock" --peer-group "$(id -gn "$AU")" 2>"$VS_TMP/vaultd-nocaps.log" &
nocaps=$!
for _ in $(seq 1 100); do [ -S "$W/sock2/vaultd.sock" ] && break; sleep 0.05; done
as_agent_t() { setpriv --reuid="$AU" --regid="$(id -g "$AU")" --init-groups --no-new-privs -- env -i PATH=/usr/bin:/bin HOME="$AH" "$@"; }
check "without CAP_SYS_PTRACE + CAP_DAC_READ_SEARCH vaultd cannot inspect the agent: vault-run refuses (fail closed)" \
    err_is 1 'vaultd not answering' as_agent_t "$W/bin/vault-run" --socket "$W/sock2/vaultd.sock" -- true
as_agent_t LD_PRELOAD="$W/lib/vaultshim/libvaultshim.so" VAULT_SOCKET="$W/sock2/vaultd.sock" \
    curl --netrc -sS "http://127.0.0.1:$PORT/" >"$VS_TMP/nocaps.out" 2>"$VS_TMP/nocaps.err"
check "... and curl under the shim gets no grant (401, one vaultshim line)" bash -c '
    grep -q "who are you" "$0" && [ "$(grep -c "^vaultshim: curl: no grant" "$1")" = 1 ]' "$VS_TMP/nocaps.out" "$VS_TMP/nocaps.err"
diag "without the capabilities: $(grep '^vaultshim' "$VS_TMP/nocaps.err" | head -1)"
kill -TERM "$nocaps"; wait "$nocaps"

# --- 5: refusals, one line each
check "not root: refused with a reason" err_is 1 'must start as root' "${ep_env[@]}" setpriv --reuid="$AU" --regid="$(id -g "$AU")" --init-groups "$EP" -- true
chmod 644 "$CONF"
check "a policy the agent can read: refused before vaultd starts" err_is 1 'readable or writable by the agent' "${ep_env[@]}" "$EP" -- true
chmod 400 "$CONF"
check "an unknown agent user: refused" err_is 1 'no such user' "${ep_env[@]}" VAULTSHIM_AGENT_USER="nouser$suffix" "$EP" -- true
check "no process of the vault user is left after the refusals" bash -c '! pgrep -u "$0" >/dev/null' "$VU"
vs_end
