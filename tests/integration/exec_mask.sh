#!/usr/bin/env bash
# vault-exec with masking (the default for mediated tools): a tool printing
# its granted value raw, base64 (three alignments), base64url, hex (both
# cases), URL-encoded and JSON-escaped, each split across writes, on stdout
# and stderr: none of it reaches the caller, "********" does; the exit
# status passes through. With mask = false the output is the tool's own.
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
PY=/usr/bin/python3
PTY="$HELPERS/pty_run.py"
export PYTHONNOUSERSITE=1
cp "$HELPERS/exec/leak.py" "$T/leak.py"; cp "$HELPERS/exec/leak.py" "$T/plain.py"; chmod 644 "$T/leak.py" "$T/plain.py"
"$V" init --keyfile >/dev/null
tok=$(fake_token leak)
printf '%s' "$tok" | "$V" save leak_token >/dev/null
ftok=$(fake_token filevalue)
printf '%s' "$ftok" | "$V" save file_token >/dev/null
# A tool that prints the credentials file it was handed.
cat >"$T/catcred.py" <<'PY'
import os, sys
sys.stdout.write(open(os.environ["AWS_SHARED_CREDENTIALS_FILE"]).read())
PY
chmod 644 "$T/catcred.py"
cat >"$T/policy.conf" <<CONF
tools = (
  { name = "leak"; exe = "$PY"; script = "$T/leak.py"; interpreter = true; env = { LEAK_TOKEN = "leak_token"; }; mediate = true; },
  { name = "plain"; exe = "$PY"; script = "$T/plain.py"; interpreter = true; env = { LEAK_TOKEN = "leak_token"; }; mediate = true;
    mask = false; },
  { name = "catcred"; exe = "$PY"; script = "$T/catcred.py"; interpreter = true; files = [ "awscred" ]; mediate = true; }
);
files = (
  { name = "awscred"; path = "$VS_TMP/home/.aws/credentials";
    template = "[default]\naws_secret_access_key = {{file_token}}\n"; }
);
CONF
chmod 644 "$T/policy.conf"
check "vaultd starts" vs_start_vaultd "$T/policy.conf"

all_forms() { python3 - "$1" <<'PY'
import base64, json, sys, urllib.parse
v = sys.argv[1]; b = v.encode()
# the stable inner part of each base64 alignment, as the masker matches it
for f in [v, base64.b64encode(b).decode()[:-4], base64.b64encode(b"x" + b).decode()[4:-4],
          base64.b64encode(b"xy" + b).decode()[4:-4], base64.urlsafe_b64encode(b).decode()[:-4], b.hex(),
          b.hex().upper(), urllib.parse.quote(v, safe=""), json.dumps(v)[1:-1]]:
    print(f)
PY
}
none_of_forms() { # none_of_forms VALUE FILE...
    local f
    while IFS= read -r f; do
        grep -qaF -- "$f" "${@:2}" && { diag "a form of the value is in the output"; return 1; }
    done < <(all_forms "$1")
    return 0
}

"$X" -- "$PY" "$T/leak.py" exit=5 >"$VS_TMP/out" 2>"$VS_TMP/err"; rc=$?
check "the masked tool ran and saw its value" grep -qx "leaked yes" "$VS_TMP/out"
check "its exit status passes through the relay" test "$rc" = 5
check "no form of the value on stdout (pipes)" none_of_forms "$tok" "$VS_TMP/out"
check "nor on stderr" none_of_forms "$tok" "$VS_TMP/err"
check "each of the nine forms became ********" bash -c '[ "$(grep -c "^form: .*\*\*\*\*\*\*\*\*" "$0")" = 9 ]' "$VS_TMP/out"
check "stderr's value too" grep -qx 'err: \*\*\*\*\*\*\*\*' "$VS_TMP/err"
check "on a terminal (pty relay) the output is masked too" bash -c '"$0" --transcript "$1" -- "$2" -- "$3" "$4" exit=3; [ $? = 3 ] &&
    grep -qa "leaked yes" "$1"' "$PTY" "$VS_TMP/pty" "$X" "$PY" "$T/leak.py"
check "no form of the value in the terminal transcript" none_of_forms "$tok" "$VS_TMP/pty"
"$X" -- "$PY" "$T/plain.py" >"$VS_TMP/plain" 2>&1
check "mask = false: the tool's output is its own (the value passes)" bash -c '! grep -q "\*\*\*\*\*\*\*\*" "$0" && grep -qx "leaked yes" "$0"' "$VS_TMP/plain"
n=0
while IFS= read -r f; do grep -qaF -- "$f" "$VS_TMP/plain" && n=$((n + 1)); done < <(all_forms "$tok")
check "the form check finds all nine forms in that unmasked output (it can fail)" test "$n" = 9
rm -f "$VS_TMP/plain"
"$X" -- "$PY" "$T/catcred.py" >"$VS_TMP/cred" 2>&1
check "a value inside a granted file is masked too (the tool printed its credentials file)" \
    grep -qx 'aws_secret_access_key = \*\*\*\*\*\*\*\*' "$VS_TMP/cred"
check "no form of the file's value in that output" none_of_forms "$ftok" "$VS_TMP/cred"
check "the run's end is audited" bash -c 'grep "\"event\":\"exec\"" "$VAULT_HOME/audit.log" | grep -q "\"exit_status\":5"'
check "no value in the audit log or the daemon's log" absent_in "$tok" "$VAULT_HOME" "$VS_TMP/vaultd.log"
check "nor the file's value" absent_in "$ftok" "$VAULT_HOME" "$VS_TMP/vaultd.log"
vs_end
