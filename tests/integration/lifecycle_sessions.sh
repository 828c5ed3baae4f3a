#!/usr/bin/env bash
# Sessions, agents and projects. `vaultctl run --agent NAME` opens a session
# with vaultd; every grant's audit line carries the agent and session; a
# session ended (end-session, or its launcher exited) while its tools run
# refuses the next grant in that tree; a made-up session id is refused.
# agents = (...) limits the tools an agent label may be granted. projects =
# (...) gives a project's secret only to a process whose working folder
# (the kernel's /proc/PID/cwd) is inside the project, symlinks resolved.
. "$(dirname "$0")/../lib.sh"
vs_clean_env "$@"
vs_begin
vs_probe_vault   # V, T, api, want; $T/probe gets PROBE_TOKEN = api_token
SHIM="$VS_BUILD/libvaultshim.so"
HELPERS="$(cd "$(dirname "$0")/../helpers" && pwd)"
for f in /usr/bin/curl /usr/bin/python3 "$SHIM"; do
    [ -x "$f" ] || [ -f "$f" ] || { not_ok "missing $f (scripts/install-deps)"; vs_end; exit 1; }
done
proj=$(fake_token proj)
printf '%s' "$proj" | "$V" save proj_token >/dev/null
cp "$T/probe" "$T/pprobe"
AH="$T/home"; W="$T/web"; E="$T/elsewhere"
mkdir -p "$AH" "$W/sub" "$E"
ln -s "$W" "$E/into-web"     # from outside into the project
ln -s "$E" "$W/to-outside"   # from inside the project out
cat >"$T/policy.conf" <<CONF
tools = (
  { name = "curl"; exe = "/usr/bin/curl"; files = [ "netrc" ]; },
  { name = "probe"; exe = "$T/probe"; env = { PROBE_TOKEN = "api_token"; }; },
  { name = "pprobe"; exe = "$T/pprobe"; env = { PROBE_TOKEN = "proj_token"; }; }
);
files = ( { name = "netrc"; path = "$AH/.netrc"; template = "machine 127.0.0.1 login agent password {{api_token}}\n"; } );
agents = (
  { name = "claude"; tools = [ "curl", "probe", "pprobe" ]; },
  { name = "bot"; tools = [ "probe", "pprobe" ]; }
);
projects = ( { name = "web"; path = "$W"; secrets = [ "proj_token" ]; agents = [ "claude", "bot" ]; },
             { name = "web-claude"; path = "$W/sub"; secrets = [ "proj_token" ]; agents = [ "claude" ]; } );
CONF
chmod 644 "$T/policy.conf"
check "vaultd starts with agents and projects" vs_start_vaultd "$T/policy.conf"
SRV="$VS_TMP/srv"; mkdir -p "$SRV"
printf '%s\n' "$api" >"$SRV/token"
/usr/bin/python3 "$HELPERS/auth_server.py" "$SRV/token" 300 >"$SRV/port" 2>/dev/null &
VS_CLEANUP_EXTRA="$VS_CLEANUP_EXTRA; kill $! 2>/dev/null"
for _ in $(seq 1 100); do [ -s "$SRV/port" ] && break; sleep 0.05; done
P=$(head -1 "$SRV/port")
export P AH V SHIM VAULT_SOCKET
# launch AGENT SCRIPT: bash -c SCRIPT under `vaultctl run --agent AGENT`, in the agent's home
launch() {
    (cd "$AH" && env -i PATH=/usr/bin:/bin HOME="$AH" VAULT_SOCKET="$VAULT_SOCKET" VAULTSHIM_LIB="$SHIM" \
        P="$P" "$V" run --agent "$1" -- bash -c "$2") </dev/null
}
FETCH='curl --netrc -fsS "http://127.0.0.1:$P/"'

# --- a session: opened, listed, in the audit log
check "curl in a claude session gets its key" bash -c "$(declare -f launch); launch claude '$FETCH' | grep -qx welcome"
sid=$(grep '"event":"grant","decision":"ok"' "$VAULT_HOME/audit.log" | tail -1 | grep -oE '"session":"[0-9a-f]{32}"' | cut -d'"' -f4)
check "the grant's audit line carries agent claude and a 32-hex session id" \
    bash -c '[ -n "$0" ] && grep "\"event\":\"grant\",\"decision\":\"ok\"" "$1" | tail -1 | grep -q "\"agent\":\"claude\",\"session\":\"$0\""' \
    "$sid" "$VAULT_HOME/audit.log"
check "the session's opening is in the audit log" grep -q "\"event\":\"session\",\"decision\":\"ok\".*\"agent\":\"claude\",\"session\":\"$sid\".*\"reason\":\"opened\"" "$VAULT_HOME/audit.log"
run "$V" sessions
check "vaultctl sessions lists it: ended, since its launcher exited" grep -qE "^$sid +claude +[0-9]+ +20.* ended: its launcher exited" "$VS_TMP/out"

VAULT_RUN="$(cd "$(dirname "$0")/../.." && pwd)/scripts/vault-run"
check "vault-run --agent opens a session too (VAULT_SESSION is 32 hex in the tree)" \
    bash -c 'cd "$2" && env -i PATH=/usr/bin:/bin HOME="$2" VAULT_SOCKET="$3" VAULTSHIM_LIB="$4" VAULTCTL="$1" \
        "$0" --agent claude -- bash -c "echo \$VAULT_AGENT \$VAULT_SESSION" </dev/null | grep -qE "^claude [0-9a-f]{32}$"' \
    "$VAULT_RUN" "$V" "$AH" "$VAULT_SOCKET" "$SHIM"

# --- end-session while its tools run
cat >"$T/long.sh" <<'SH'
curl --netrc -fsS "http://127.0.0.1:$P/" >"$1/first" 2>&1
echo "$VAULT_SESSION" >"$1/sid"
for _ in $(seq 1 200); do [ -e "$1/go" ] && break; sleep 0.05; done
curl --netrc -fsS "http://127.0.0.1:$P/" >"$1/second" 2>&1
echo done >"$1/finished"
SH
mkdir -p "$VS_TMP/long"; chmod 777 "$VS_TMP/long"
(cd "$AH" && env -i PATH=/usr/bin:/bin HOME="$AH" VAULT_SOCKET="$VAULT_SOCKET" VAULTSHIM_LIB="$SHIM" P="$P" \
    "$V" run --agent claude -- bash "$T/long.sh" "$VS_TMP/long") </dev/null &
long_pid=$!
for _ in $(seq 1 200); do [ -s "$VS_TMP/long/sid" ] && break; sleep 0.05; done
lsid=$(cat "$VS_TMP/long/sid" 2>/dev/null)
check "the running session's first curl got its key" grep -qx welcome "$VS_TMP/long/first"
run "$V" sessions
check "vaultctl sessions lists the running session as live" grep -qE "^$lsid +claude +$long_pid +20.* live$" "$VS_TMP/out"
run "$V" end-session "$lsid"
check "end-session says every grant for it is refused" grep -q "ended: every grant for it is refused" "$VS_TMP/out"
touch "$VS_TMP/long/go"; wait "$long_pid"
check "the next curl in that still-running tree is refused: session ended" \
    grep -q "no grant: session $lsid (agent claude) was ended: vaultctl end-session" "$VS_TMP/long/second"
check "end-session of an unknown id is one clear line" err_is 1 'end-session: no session 0123' "$V" end-session 0123

# --- a launcher that exits ends its session; a leftover child is refused
launch claude "(sleep 1; $FETCH >'$VS_TMP/orphan' 2>&1) & exit 0"
for _ in $(seq 1 100); do [ -s "$VS_TMP/orphan" ] && break; sleep 0.05; done
check "a leftover child after its launcher exited is refused" grep -q "was ended: its launcher exited" "$VS_TMP/orphan"

# --- a forged session id, an agent label on its own
check "a made-up VAULT_SESSION is refused" bash -c "cd '$AH' && env -i PATH=/usr/bin:/bin HOME='$AH' VAULT_SOCKET='$VAULT_SOCKET' LD_PRELOAD='$SHIM' VAULT_SESSION=00112233445566778899aabbccddeeff $FETCH 2>&1 | grep -q 'session 00112233445566778899aabbccddeeff is not open'"

# --- agent tool limits (labels: the probe sends AGENT)
check "agent claude may use probe" bash -c 'VS_PROBE=agent=claude "$0" ok | grep -qx "$1"' "$T/probe" "$want"
check "agent bot may use probe" bash -c 'VS_PROBE=agent=bot "$0" ok | grep -qx "$1"' "$T/probe" "$want"
check "agent bot may not use curl (through vaultctl run and the shim)" \
    bash -c "$(declare -f launch); launch bot '$FETCH' 2>&1 | grep -q 'agent bot may not use tool curl'"
check "an agent not in the policy is refused" bash -c 'VS_PROBE=agent=zed "$0" ok 2>&1 >/dev/null | grep -q "agent zed is not in the policy"' "$T/probe"
check "no agent label: no agent limits" bash -c '"$0" ok | grep -qx "$1"' "$T/probe" "$want"

# --- projects: the kernel's working folder decides
pwant="grant PROBE_TOKEN 1 $(sha256 "$proj")"
# proj_case DESC DIR AGENT REGEX: the project probe run in DIR with AGENT ("" none)
proj_case() {
    local out
    out=$(cd "$2" && if [ -n "$3" ]; then VS_PROBE=agent=$3 "$T/pprobe" ok 2>&1; else "$T/pprobe" ok 2>&1; fi)
    if printf '%s\n' "$out" | grep -qE -- "$4"; then ok "$1"; else not_ok "$1"; diag "probe said: $out"; fi
}
G="^$pwant\$"
proj_case "project secret granted in the project folder" "$W" claude "$G"
proj_case "and in a folder below it" "$W/sub" claude "$G"
proj_case "refused outside the project, with the project named" "$E" claude \
    "secret proj_token belongs to project web: not for a process working in $E as agent claude"
proj_case "a symlink from outside into the project counts as inside (the kernel resolves it)" "$E/into-web" claude "$G"
proj_case "a symlink from inside the project to outside counts as outside" "$W/to-outside" claude "belongs to project"
mkdir -p "${W}site"
proj_case "a folder whose name only starts like the project's is outside" "${W}site" claude "belongs to project"
proj_case "agent bot gets it in web" "$W" bot "$G"
proj_case "agent bot gets it in web/sub too (web lists bot: one allowing project is enough)" "$W/sub" bot "$G"
proj_case "no agent label in a project that lists agents is refused" "$W" "" "belongs to project"
check "the unscoped api_token is granted anywhere" bash -c 'cd "$0" && "$1" ok | grep -qx "$2"' "$E" "$T/probe" "$want"
check "no value in any output or log" bash -c 'for v in "$0" "$1"; do ! grep -rqaF -- "$v" "$2/long" "$2/orphan" "$2/out" "$2/err" "$2/vaultd.log" "$3" || exit 1; done' \
    "$api" "$proj" "$VS_TMP" "$VAULT_HOME/audit.log"
kill "$VAULTD_PID" 2>/dev/null; wait "$VAULTD_PID" 2>/dev/null
check "vaultd's log has no sanitizer report (ASan build)" bash -c '! grep -qE "Sanitizer|runtime error" "$0"' "$VS_TMP/vaultd.log"
vs_end
