#!/usr/bin/env bash
# Alerts. A 7-day baseline is written in the usage file's documented format
# before vaultd starts (1 use an hour); a burst in the current hour passes
# 3x of it: an "alert" audit line, a stderr line, alert_command run (no
# value given to it) and, with quarantine = true, the secret refused until
# `vaultctl restore` with the human factor; the quarantine survives a
# restart and the counts persist. Then a per-minute cap, a burst of
# denials and a use outside active_hours each raise their alert.
. "$(dirname "$0")/../lib.sh"
vs_clean_env "$@"
vs_begin
vs_probe_vault   # V, T, api, want; $T/probe gets PROBE_TOKEN = api_token
HELPERS="$(cd "$(dirname "$0")/../helpers" && pwd)"
ghv=$(fake_token gh)
printf '%s' "$ghv" | "$V" save gh_token >/dev/null
cp "$T/probe" "$T/probe2"; cp "$T/probe" "$T/stranger"
cat >"$T/alert.sh" <<SH
#!/bin/sh
# alert_command: records its argv and the alert text; stdin must be empty
printf '%s|%s|%s\n' "\$1" "\$VAULT_ALERT" "\$(cat)" >>"$VS_TMP/alerts.txt"
SH
chmod 755 "$T/alert.sh"
policy() { # EXTRA-ALERT-KEYS
    cat >"$T/policy.conf" <<CONF
tools = ( { name = "probe"; exe = "$T/probe"; env = { PROBE_TOKEN = "api_token"; }; },
          { name = "probe2"; exe = "$T/probe2"; env = { PROBE_TOKEN = "gh_token"; }; } );
alerts = { $1 alert_command = [ "$T/alert.sh", "fired" ]; };
CONF
    chmod 644 "$T/policy.conf"
}
use() { VS_PROBE=agent=claude "$T/probe" ok 2>&1; }

# --- the baseline: 1 use an hour for the 7 days before this hour
now_hour=$(( $(date +%s) / 3600 ))
{ echo "vsusage 1"; for h in $(seq $((now_hour - 168)) $((now_hour - 1))); do echo "$h api_token claude 1"; done; } \
    >"$VAULT_HOME/usage"
chmod 600 "$VAULT_HOME/usage"
policy "multiple = 3.0; min_uses = 5; quarantine = true;"
check "vaultd starts with the baseline and alerts on" vs_start_vaultd "$T/policy.conf"
for i in 1 2 3 4; do use >/dev/null; done
check "4 uses in this hour (baseline 1.0, 3x is 3; min_uses 5): no alert yet" bash -c '! grep -q "\"event\":\"alert\"" "$0"' "$VAULT_HOME/audit.log"
check "the 5th use is granted" bash -c '[ "$(VS_PROBE=agent=claude "$0" ok)" = "$1" ]' "$T/probe" "$want"
check "and raises a rate alert in the audit log" \
    grep -q '"event":"alert","decision":"ok".*"agent":"claude".*"reason":"secret api_token used 5 times this hour, over 3.0x its 7-day hourly average of 1.00.*"alert":"rate","secret":"api_token"' "$VAULT_HOME/audit.log"
check "and on vaultd's stderr" grep -q 'ALERT rate: secret api_token used 5 times this hour' "$VS_TMP/vaultd.log"
for _ in $(seq 1 100); do [ "$(grep -c . "$VS_TMP/alerts.txt" 2>/dev/null)" -ge 2 ] && break; sleep 0.05; done
check "alert_command ran with its argv and the alert text, stdin empty" \
    grep -qE '^fired\|secret api_token used 5 times this hour.*\|$' "$VS_TMP/alerts.txt"
check "quarantine: the next use is refused, naming the way out" \
    bash -c 'out=$(VS_PROBE=agent=claude "$0" ok 2>&1); [ $? -eq 3 ] && echo "$out" | grep -q "secret api_token is in quarantine after an alert (vaultctl restore api_token)"' "$T/probe"
check "the quarantine alert is logged too" grep -q '"alert":"quarantine","secret":"api_token"' "$VAULT_HOME/audit.log"
check "gh_token is not affected" bash -c '"$0" ok | grep -q "^grant PROBE_TOKEN 1 "' "$T/probe2"
kill "$VAULTD_PID"; wait "$VAULTD_PID" 2>/dev/null
check "the usage file keeps this hour's 5 uses by claude" grep -qx "$now_hour api_token claude 5" "$VAULT_HOME/usage"
check "the usage file keeps the baseline (8 days)" bash -c '[ "$(grep -c " api_token claude 1$" "$0")" -eq 168 ]' "$VAULT_HOME/usage"
check "vaultd restarts" vs_start_vaultd "$T/policy.conf"
check "the quarantine survives the restart" bash -c 'VS_PROBE=agent=claude "$0" ok 2>&1 | grep -q "in quarantine"' "$T/probe"
run "$V" usage api_token
check "vaultctl usage charts uses per day and agent" \
    bash -c 'grep -qx "api_token, agent claude" "$0" && grep -qE "^  $(date -u +%Y-%m-%d) +[0-9]+ #+$" "$0"' "$VS_TMP/out"
check "restore without a terminal is refused (key-file vault)" \
    err_is 1 'restore: this needs the owner at a terminal' setsid -w "$V" restore api_token
cat >"$T/release.py" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.connect(sys.argv[1])
name = b"api_token"
s.send(struct.pack("<BBHI", 1, 0x14, 0, 1) + struct.pack("<HI", 1, len(name)) + name)
r = s.recv(65536); print("ok" if r[1] == 0x80 else "refused: " + r[8 + 6 + 4 + 6:].decode(errors="replace"))
PY
check "vaultd itself refuses a RELEASE from a process with no terminal" \
    bash -c 'setsid -w /usr/bin/python3 "$0" "$1" </dev/null | grep -q "^refused: .*needs the owner at a terminal"' "$T/release.py" "$VAULT_SOCKET"
check "still quarantined" bash -c 'VS_PROBE=agent=claude "$0" ok 2>&1 | grep -q "in quarantine"' "$T/probe"
printf 'lift\n' >"$VS_TMP/answer"
check "restore at a terminal lifts the quarantine" /usr/bin/python3 "$HELPERS/pty_run.py" --transcript "$VS_TMP/pty.out" \
    --expect 'Type lift to confirm' "$VS_TMP/answer" -- "$V" restore api_token --socket "$VAULT_SOCKET"
check "restore said so" grep -q 'quarantine lifted' "$VS_TMP/pty.out"
check "the secret is granted again" bash -c '[ "$(VS_PROBE=agent=claude "$0" ok)" = "$1" ]' "$T/probe" "$want"
check "more uses this hour after the restore raise no second alert (the crossing alerts once)" \
    bash -c 'for i in 1 2 3; do VS_PROBE=agent=claude "$0" ok >/dev/null || exit 1; done; [ "$(grep -c "\"alert\":\"rate\"" "$1")" -eq 1 ]' \
    "$T/probe" "$VAULT_HOME/audit.log"
check "the lift is in the audit log" grep -q '"event":"restore","decision":"ok".*"reason":"quarantine lifted".*"secret":"api_token"' "$VAULT_HOME/audit.log"
kill "$VAULTD_PID"; wait "$VAULTD_PID" 2>/dev/null

# --- a per-minute cap, a denial burst, a use outside active_hours
h=$((10#$(date +%H))); from=$(( (h + 1) % 24 )); to=$(( (h + 2) % 24 )); [ "$to" -eq 0 ] && to=24
hours=$(printf '%02d-%02d' "$from" "$to")
policy "multiple = 0; per_minute_cap = 3; denial_burst = 5; active_hours = \"$hours\";"
check "vaultd starts with cap, denial burst and active hours $hours (now is hour $h)" vs_start_vaultd "$T/policy.conf"
for i in 1 2 3; do "$T/probe2" ok >/dev/null; done
check "3 uses in a minute: no cap alert" bash -c '! grep -q "\"alert\":\"cap\"" "$0"' "$VAULT_HOME/audit.log"
"$T/probe2" ok >/dev/null
check "the 4th use in the minute raises a cap alert" \
    grep -q '"reason":"secret gh_token used more than 3 times in a minute.*"alert":"cap","secret":"gh_token"' "$VAULT_HOME/audit.log"
check "a use outside active_hours raised an hours alert (once)" \
    bash -c '[ "$(grep -c "\"alert\":\"hours\",\"secret\":\"gh_token\"" "$0")" -eq 1 ]' "$VAULT_HOME/audit.log"
check "no quarantine without quarantine = true" bash -c '"$0" ok | grep -q "^grant PROBE_TOKEN 1 "' "$T/probe2"
for i in 1 2 3 4; do VS_PROBE=agent=prober "$T/stranger" ok >/dev/null 2>&1; done
check "4 refusals in a minute: no denial alert" bash -c '! grep -q "\"alert\":\"denials\"" "$0"' "$VAULT_HOME/audit.log"
VS_PROBE=agent=prober "$T/stranger" ok >/dev/null 2>&1
check "the 5th refusal from one agent raises a denials alert" \
    grep -q '"agent":"prober".*"reason":"5 refused requests in a minute from agent prober (probing?).*"alert":"denials"' "$VAULT_HOME/audit.log"
for _ in $(seq 1 100); do [ "$(grep -c . "$VS_TMP/alerts.txt")" -ge 5 ] && break; sleep 0.05; done
alerts_seen() { diag "alerts.txt: $(cut -c1-60 "$VS_TMP/alerts.txt" | tr "\n" ";")"; }
check "alert_command ran for each alert (rate, quarantine, cap, hours, denials)" \
    bash -c '[ "$(grep -c "^fired|" "$0")" -eq 5 ] || { cut -c1-70 "$0" | sed "s/^/# /"; exit 1; }' "$VS_TMP/alerts.txt"
check "no value in the alerts, outputs or logs" bash -c 'for v in "$0" "$1"; do ! grep -rqaF -- "$v" "$2/alerts.txt" "$2/out" "$2/pty.out" "$2/vaultd.log" "$3" "$4" || exit 1; done' \
    "$api" "$ghv" "$VS_TMP" "$VAULT_HOME/audit.log" "$VAULT_HOME/usage"
check "the audit chain verifies" bash -c '"$0" audit --verify >/dev/null' "$V"
kill "$VAULTD_PID" 2>/dev/null; wait "$VAULTD_PID" 2>/dev/null
check "vaultd's log has no sanitizer report (ASan build)" bash -c '! grep -qE "Sanitizer|runtime error" "$0"' "$VS_TMP/vaultd.log"
vs_end
