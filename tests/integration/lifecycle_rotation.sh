#!/usr/bin/env bash
# Rotation: per-secret rotation_days and the vault default; `vaultctl check`
# exit codes and lines; list and status mark overdue secrets; a rotation
# reaches the next real curl run with no vaultd restart; keep_versions
# bounds the versions kept; `vaultctl history` shows versions and who used
# each (agent, tool, count), never a value.
. "$(dirname "$0")/../lib.sh"
vs_clean_env "$@"
vs_begin
vs_trusted_dir
chmod 711 "$VS_TMP"
V=$VAULTCTL
T=$VS_TRUSTED
SHIM="$VS_BUILD/libvaultshim.so"
AGE="$VS_BUILD/tests/helpers/vs-age-secret"
HELPERS="$(cd "$(dirname "$0")/../helpers" && pwd)"
for f in /usr/bin/curl /usr/bin/python3 "$SHIM" "$AGE"; do
    [ -x "$f" ] || [ -f "$f" ] || { not_ok "missing $f (scripts/install-deps)"; vs_end; exit 1; }
done

api=$(fake_token api); api2=$(fake_token rot2); api3=$(fake_token rot3); api4=$(fake_token rot4); gh=$(fake_token ghp)
VALUES="$api $api2 $api3 $api4 $gh"
no_value_in() { local v; for v in $VALUES; do absent_in "$v" "$@" || return 1; done; }

"$V" init --keyfile >/dev/null
printf '%s' "$api" | "$V" save api_token >/dev/null
printf '%s' "$gh" | "$V" save gh_token >/dev/null
AH="$T/home"; mkdir -p "$AH"
cat >"$T/policy.conf" <<CONF
vault: { rotation_days = 90; keep_versions = 2; };
secrets = ( { name = "api_token"; rotation_days = 30; } );
tools = ( { name = "curl"; exe = "/usr/bin/curl"; files = [ "netrc" ]; } );
files = ( { name = "netrc"; path = "$AH/.netrc"; template = "machine 127.0.0.1 login agent password {{api_token}}\n"; } );
CONF
chmod 644 "$T/policy.conf"
export VAULT_CONFIG="$T/policy.conf"
check "vaultd starts with a rotation policy" vs_start_vaultd "$T/policy.conf"
first_pid=$VAULTD_PID

SRV="$VS_TMP/srv"; mkdir -p "$SRV"
start_server() { # NAME TOKEN: sets PORT
    printf '%s\n' "$2" >"$SRV/$1.token"
    /usr/bin/python3 "$HELPERS/auth_server.py" "$SRV/$1.token" 300 >"$SRV/$1.port" 2>/dev/null &
    VS_CLEANUP_EXTRA="$VS_CLEANUP_EXTRA; kill $! 2>/dev/null"
    for _ in $(seq 1 100); do [ -s "$SRV/$1.port" ] && { PORT=$(head -1 "$SRV/$1.port"); return 0; }; sleep 0.05; done
    return 1
}
agent() {
    (cd "$AH" && env -i PATH=/usr/bin:/bin HOME="$AH" VAULT_SOCKET="$VAULT_SOCKET" LD_PRELOAD="$SHIM" \
        VAULT_AGENT=claude "$@") </dev/null
}
check "auth server for v1 starts" start_server v1 "$api"; P1=$PORT
check "auth server for v2 starts" start_server v2 "$api2"; P2=$PORT

export -f agent; export AH VAULT_SOCKET SHIM
check "curl gets v1 through the served .netrc" bash -c '[ "$(agent curl --netrc -fsS http://127.0.0.1:$0/)" = welcome ]' "$P1"

# --- check: nothing overdue yet
run "$V" check; rc=$?
check "check exits 0 when nothing is overdue" test "$rc" -eq 0
check "check says ok" grep -q '^ok: 2 secrets, none overdue' "$VS_TMP/out"

# --- api_token (30 days in its secrets entry) aged 31 days; gh_token (vault default 90) aged 31 too
check "fixture: api_token rotated 31 days ago" "$AGE" "$VAULT_HOME" "$VAULT_HOME/vault.key" api_token 31
check "fixture: gh_token rotated 31 days ago" "$AGE" "$VAULT_HOME" "$VAULT_HOME/vault.key" gh_token 31
run "$V" check; rc=$?
check "check exits 1 when a secret is overdue" test "$rc" -eq 1
check "check prints one line, for api_token only (its own 30 days; gh_token has the vault's 90)" \
    bash -c '[ "$(wc -l <"$0")" -eq 1 ] && grep -q "^OVERDUE api_token: .*every 30 days, 1 days late (vaultctl rotate api_token)" "$0"' "$VS_TMP/out"
run "$V" list
check "list marks api_token OVERDUE" grep -qE '^api_token +1 .* OVERDUE 1d' "$VS_TMP/out"
check "list keeps gh_token due in 59 days" grep -qE '^gh_token .* in 5[89]d' "$VS_TMP/out"
run "$V" list --json
check "list --json: api_token overdue, rotation_days 30" grep -q '"name":"api_token".*"rotation_days":30,.*"overdue":true' "$VS_TMP/out"
run "$V" status
check "status counts 1 overdue" grep -q '(0 revoked, 1 overdue for rotation)' "$VS_TMP/out"
check "status names it" grep -qx 'OVERDUE for rotation: api_token (every 30 days; vaultctl rotate api_token)' "$VS_TMP/out"

# --- rotation reaches the next curl run with no restart
check "rotate api_token to v2" bash -c 'printf "%s" "$0" | "$1" rotate api_token >/dev/null' "$api2" "$V"
check "the next curl run uses v2 (v2 server welcomes it)" bash -c '[ "$(agent curl --netrc -fsS http://127.0.0.1:$0/)" = welcome ]' "$P2"
check "the next curl run no longer has v1 (v1 server refuses)" bash -c '! agent curl --netrc -fsS http://127.0.0.1:$0/ 2>/dev/null' "$P1"
check "vaultd was not restarted" bash -c 'kill -0 "$0" && [ "$0" = "$1" ]' "$VAULTD_PID" "$first_pid"
run "$V" check; rc=$?
check "check exits 0 again after the rotation" test "$rc" -eq 0

# --- keep_versions = 2 and history
check "rotate to v3" bash -c 'printf "%s" "$0" | "$1" rotate api_token >/dev/null' "$api3" "$V"
check "rotate to v4" bash -c 'printf "%s" "$0" | "$1" rotate api_token >/dev/null' "$api4" "$V"
run "$V" list --json
check "keep_versions = 2 keeps v3 and v4 only" grep -q '"name":"api_token","version":4,"versions":\[3,4\]' "$VS_TMP/out"
run "$V" history api_token; rc=$?
check "history exits 0" test "$rc" -eq 0
check "history: 2 versions kept, active" grep -q '^api_token: 2 versions kept, active' "$VS_TMP/out"
check "history: v4 current, v3 retired" bash -c 'grep -qE "^v4 .* current" "$0" && grep -qE "^v3 .* retired" "$0"' "$VS_TMP/out"
check "history: v1 used by agent claude with curl once (dropped version, from the log)" \
    grep -qE '^v1 .* dropped +claude, curl: 1, last 20' "$VS_TMP/out"
check "history: v2 used by claude with curl twice" grep -qE '^v2 .* dropped +claude, curl: 2, last' "$VS_TMP/out"
check "history: v4 has no recorded use" grep -qE '^v4 .*\(no recorded use\)' "$VS_TMP/out"
check "history of an unknown secret is one clear line" err_is 1 'history: nope: no such secret' "$V" history nope
check "no value in vaultctl's outputs, vaultd's log or the audit log" \
    no_value_in "$VS_TMP/out" "$VS_TMP/err" "$VS_TMP/vaultd.log" "$VAULT_HOME/audit.log"
check "the audit chain verifies" bash -c '"$0" audit --verify >/dev/null' "$V"
kill "$VAULTD_PID" 2>/dev/null; wait "$VAULTD_PID" 2>/dev/null
check "vaultd's log has no sanitizer report (ASan build)" bash -c '! grep -qE "Sanitizer|runtime error" "$0"' "$VS_TMP/vaultd.log"
vs_end
