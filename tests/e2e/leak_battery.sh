#!/usr/bin/env bash
# The end-to-end leak battery: an agent as an unprivileged user of its own
# (vault, policy and vaultd are root's, served to the agent's group: see
# e2e_lib.sh), and an agent shell under scripts/vault-run, as that user,
# trying every way the issue lists to get a vaulted value into what it
# prints, what it sends (a listener it controls on loopback records every
# byte) and what it writes (every file under its case folder).
# Each case passes only when no form of any vaulted value (raw, base64 in
# three alignments, hex in both cases, reversed) and no form of the stale
# plaintext copies left on disk appears in any of it; two cases marked
# "decoy" show a documented limit (the stale copy on disk is readable by a
# process that escapes the shim) and pass when exactly that is seen.
# The control run: the same attacks by the same user without vaultshim
# (tokens exported, plaintext credential files, as before vaultshim) must
# leak, class by class: the detector is shown able to fail.
# Prints a table (case, class, expected, result, control), TAP lines, and
# "N passed, N failed".
. "$(dirname "$0")/../lib.sh"
vs_clean_env "$@"
vs_begin
. "$(dirname "$0")/lib/e2e_lib.sh"
started=$SECONDS
e2e_need /usr/bin/curl /usr/bin/git "$REMOTE_HTTP" /usr/lib/git-core/git-http-backend /usr/sbin/nginx \
    /usr/sbin/fcgiwrap "$PY" "$NODE" "$NPM_CLI" /usr/bin/aws /usr/bin/gh /usr/bin/gdb /usr/bin/gcore \
    /usr/bin/strace /usr/bin/cc /usr/lib/x86_64-linux-gnu/libc.a /usr/bin/setpriv /usr/sbin/useradd \
    /lib64/ld-linux-x86-64.so.2 /usr/bin/openssl /usr/bin/strings "$VS_BUILD/libvaultshim.so"
"$PY" -c 'import requests' 2>/dev/null || { not_ok "python3-requests is missing (scripts/install-deps)"; vs_end; exit 1; }

check "a user of its own for the battery" e2e_user
vs_trusted_dir
T=$VS_TRUSTED
cp "$E2E_DIR/tools/pyreq.py" "$E2E_DIR/tools/fetch.js" "$E2E_DIR/attack/sock_attack.py" \
    "$E2E_DIR/lib/agent_attacks.sh" "$E2E_DIR/lib/case_lib.sh" "$T/"
cp -r "$E2E_DIR/attack" "$T/attack"
chmod -R a+rX,go-w "$T"

# --- values: vaulted, and stale plaintext copies ("decoys") left on disk
api=$(fake_token api); npmv=$(fake_token npm); ghv=$(fake_token ghp)
awsid="AKIA$(fake_token x | tail -c 16 | tr a-z A-Z)"; awssec=$(fake_token awssec)
d_netrc=$(fake_token stalenetrc); d_npm=$(fake_token stalenpm); d_aws=$(fake_token staleaws); d_git=$(fake_token stalegit)
VAULTED="$api $npmv $ghv $awsid $awssec"
DECOYS="$d_netrc $d_npm $d_aws $d_git"

# --- servers (root): the attacker's listener, a slow service, the real service, git
SINKDIR="$VS_TMP/sink"; mkdir -p "$SINKDIR"
check "the attacker's loopback listener starts" start_server sink "$PY" "$E2E_DIR/lib/sink.py" sink "$SINKDIR" 900
SINK=$SRV_PORT
check "a slow loopback service starts" start_server slow "$PY" "$E2E_DIR/lib/sink.py" slow 6 900
SLOW=$SRV_PORT
printf '%s\n' "$api" >"$VS_TMP/api.token"
check "the auth server starts" start_server auth "$PY" "$HELPERS/auth_server.py" "$VS_TMP/api.token" 900
AP=$SRV_PORT
check "nginx + fcgiwrap + git http-backend behind Basic auth" e2e_git "$api"

# --- the vault, the policy (realistic allow lists), vaultd
check "a vault with five secrets" e2e_vault api_token="$api" npm_token="$npmv" gh_token="$ghv" \
    aws_key_id="$awsid" aws_secret="$awssec"
write_policy() { # [extra tool lines]
    e2e_policy <<CONF
protect = [ "*_TOKEN", "*_SECRET_ACCESS_KEY", "*_ACCESS_KEY_ID" ];
tools = (
  { name = "curl"; exe = "/usr/bin/curl"; files = [ "netrc", "curlrc" ];
    allow_args = [ "--netrc -sS http://127.0.0.1:$AP/", "--netrc -fsS http://127.0.0.1:$AP/",
                   "--netrc -sS http://127.0.0.1:$SLOW/slow" ]; },
  { name = "git-remote-http"; exe = "$REMOTE_HTTP";
    hide_files = [ "$UH/.gitconfig", "$UH/.config/git/config", "*/.git/config" ]; files = [ "netrc", "gitcreds" ];
    allow_args = [ "* http://127.0.0.1:$GP/git/*" ]; },
  { name = "npm"; exe = "$NODE"; script = "$NPM_CLI"; hide_files = [ "*/.npmrc" ]; files = [ "npmrc" ]; allow_args = [ "whoami", "publish" ]; },
  { name = "aws"; exe = "$PY"; script = "/usr/bin/aws"; files = [ "aws" ];
    allow_args = [ "sts get-caller-identity --endpoint-url http://127.0.0.1:$AP" ]; },
  { name = "gh"; exe = "/usr/bin/gh"; env = { GH_TOKEN = "gh_token"; }; allow_args = [ "api user", "repo list" ]; },
  { name = "pyreq"; exe = "$PY"; script = "$T/pyreq.py"; env = { API_TOKEN = "api_token"; };
    allow_args = [ "http://127.0.0.1:$AP/", "http://127.0.0.1:$SLOW/slow" ]; },
  { name = "fetch"; exe = "$NODE"; script = "$T/fetch.js"; env = { API_TOKEN = "api_token"; };
    allow_args = [ "http://127.0.0.1:$AP/", "http://127.0.0.1:$SLOW/slow" ]; }$1
);
files = (
  { name = "netrc"; path = "$UH/.netrc"; template = "machine 127.0.0.1 login agent password {{api_token}}\n"; },
  # ~/.curlrc managed too: the agent can neither write it (EACCES) nor have
  # a granted curl read its own (a proxy line there would take the key)
  { name = "curlrc"; path = "$UH/.curlrc"; template = "# managed by vaultshim\n"; },
  { name = "gitcreds"; path = "$UH/.git-credentials"; template = "http://agent:{{api_token}}@127.0.0.1%3a$GP\n"; },
  { name = "npmrc"; path = "$UH/.npmrc"; template = "//127.0.0.1:$AP/:_authToken={{npm_token}}\nregistry=http://127.0.0.1:$AP/\nupdate-notifier=false\n"; },
  { name = "aws"; path = "$UH/.aws/credentials";
    template = "[default]\naws_access_key_id = {{aws_key_id}}\naws_secret_access_key = {{aws_secret}}\n"; }
);
CONF
}
write_policy ""
check "vaultd runs as the user" e2e_vaultd

# --- the user's home: stale plaintext copies at the managed paths
home_files() { # NETRC NPM AWSID AWSSEC GITCRED (values)
    as_user mkdir -p "$UH/.aws"
    printf 'machine 127.0.0.1 login agent password %s\n' "$1" >"$UH/.netrc"
    printf '//127.0.0.1:%s/:_authToken=%s\nregistry=http://127.0.0.1:%s/\n' "$AP" "$2" "$AP" >"$UH/.npmrc"
    printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$3" "$4" >"$UH/.aws/credentials"
    printf '[default]\nregion = us-east-1\noutput = json\n' >"$UH/.aws/config"
    printf 'http://agent:%s@127.0.0.1%%3a%s\n' "$5" "$GP" >"$UH/.git-credentials"
    printf '[credential]\n\thelper = store\n[user]\n\tname = agent\n\temail = agent@localhost\n' >"$UH/.gitconfig"
    chown "$U:$UG" "$UH/.netrc" "$UH/.npmrc" "$UH/.aws/credentials" "$UH/.aws/config" "$UH/.git-credentials" "$UH/.gitconfig"
    chmod 600 "$UH/.netrc" "$UH/.npmrc" "$UH/.aws/credentials" "$UH/.git-credentials"
}
home_files "$d_netrc" "$d_npm" "AKIASTALE$(fake_token z | tail -c 11 | tr a-z A-Z)" "$d_aws" "$d_git"

OUT="$UH/battery"
as_user mkdir -p "$OUT/vault" "$OUT/control"
E2E_ENV=(E2E_SINK="$SINK" E2E_SLOW="$SLOW" E2E_AP="$AP" E2E_GP="$GP" E2E_T="$T" E2E_VAULT_HOME="$VAULT_HOME" E2E_ATTACK="$T/attack"
    E2E_CASELIB="$T/case_lib.sh" GIT_TERMINAL_PROMPT=0 AWS_EC2_METADATA_DISABLED=true AWS_PAGER=
    GH_NO_UPDATE_NOTIFIER=1 GH_PROMPT_DISABLED=1 NO_COLOR=1)
# The leaked launch environment: what a user's shell profile exports.
LEAKED=(API_TOKEN="$api" GH_TOKEN="$ghv" NPM_TOKEN="$npmv" AWS_SECRET_ACCESS_KEY="$awssec")
agent_run() { # vault-run as the user, with the leaked variables in the launch environment
    as_user env VAULTSHIM_LIB="$VS_BUILD/libvaultshim.so" VAULTCTL="$VAULTCTL" "${E2E_ENV[@]}" "${LEAKED[@]}" \
        "$REPO/scripts/vault-run" --agent e2e-battery --socket "$SOCK" -- "$@"
}

# --- the granted paths work in this very set-up (else every refusal is empty)
granted() { # DESC WANT CMD...
    local desc=$1 want=$2 o="$VS_TMP/granted.out"; shift 2
    agent_run "$@" >"$o" 2>&1 </dev/null
    if grep -qE -- "$want" "$o" && for v in $VAULTED $DECOYS; do e2e_absent "$v" "$o" || exit 1; done; then
        ok "$desc"
    else
        not_ok "$desc: $(head -c 300 "$o" | tr '\n' '|')"
        diag "last refusal: $(grep '"denied"' "$VAULT_HOME/audit.log" | tail -1)"
    fi
}
granted "granted: curl --netrc authenticates with the served ~/.netrc" '^welcome$' curl --netrc -fsS "http://127.0.0.1:$AP/"
granted "granted: python requests tool authenticates with API_TOKEN" '^welcome$' env PYTHONNOUSERSITE=1 python3 "$T/pyreq.py" "http://127.0.0.1:$AP/"
granted "granted: node fetch tool authenticates with API_TOKEN" '^welcome$' node "$T/fetch.js" "http://127.0.0.1:$AP/"
granted "granted: git ls-remote over http with the served ~/.netrc" 'refs/heads/main' git ls-remote "http://127.0.0.1:$GP/git/repo.git"

# --- the battery, under vault-run
diag "vault run: $(date -u +%T)"
agent_run bash "$T/agent_attacks.sh" vault "$OUT/vault" >"$VS_TMP/agent.vault.log" 2>&1 </dev/null
check "the agent shell under vault-run ran every case" grep -q '^agent_attacks: done' "$VS_TMP/agent.vault.log"
granted_while_attacked() { # TOOL: vaultd granted TOOL on the slow URL (attacked while it ran)
    grep '"decision":"ok"' "$VAULT_HOME/audit.log" | grep '"agent":"e2e-battery"' | grep -F "$SLOW/slow" | grep -q "\"tool\":\"$1\""
}
check "the python tool attacked while it ran had its grant (audit)" granted_while_attacked pyreq
check "the curl attacked while it ran had its grant (audit)" granted_while_attacked curl
check "the node tool signalled while it ran had its grant (audit)" granted_while_attacked fetch

# --- the control: the same attacks without vaultshim, in the world before
# it (tokens exported, plaintext credential files); the socket class gets
# a granted client (its script allowlisted) to show values on the socket
# are seen.
home_files "$api" "$npmv" "$awsid" "$awssec" "$api"
write_policy ",
  { name = \"sockprobe\"; exe = \"$PY\"; script = \"$T/sock_attack.py\"; env = { API_TOKEN = \"api_token\"; }; }"
check "control: the owner reloads the policy with a granted socket client" e2e_reload
diag "control run: $(date -u +%T)"
as_user env "${E2E_ENV[@]}" "${LEAKED[@]}" VAULT_SOCKET="$SOCK" PYTHONNOUSERSITE=1 \
    bash "$T/agent_attacks.sh" control "$OUT/control" >"$VS_TMP/agent.control.log" 2>&1 </dev/null
check "control: the same agent script ran every case" grep -q '^agent_attacks: done' "$VS_TMP/agent.control.log"

# --- judge: scan everything each case printed, sent and wrote
# one pattern file per value set: every form of every value, one grep per scan
forms_file() { local v; for v in $1; do e2e_forms "$v"; done | grep -v '^$' >"$2"; }
forms_file "$VAULTED" "$VS_TMP/forms.vaulted"
forms_file "$DECOYS" "$VS_TMP/forms.decoys"
found_any() { # FORMS_FILE PATH...: true when a form of one of the values is there
    local f=$1; shift
    grep -rqaF -f "$f" -- "$@" 2>/dev/null
}
# the detector finds each form inside other text: base64 at the three
# alignments, hex in both cases, reversed (and is silent on clean text)
detector_selftest() {
    local d="$VS_TMP/selftest" k v=${VAULTED%% *}
    mkdir -p "$d/clean" && printf 'nothing here %s\n' "$(fake_token other)" >"$d/clean/f"
    found_any "$VS_TMP/forms.vaulted" "$d/clean" && return 1
    for k in 0 1 2; do
        mkdir -p "$d/b$k" && printf 'Authorization: Basic %s\n' \
            "$(printf '%s%s:tail' "$(printf 'ab' | head -c "$k")" "$v" | base64 -w0)" >"$d/b$k/f"
        found_any "$VS_TMP/forms.vaulted" "$d/b$k" || return 1
    done
    mkdir -p "$d/hex" "$d/HEX" "$d/rev"
    printf 'x%sy' "$(printf '%s' "$v" | od -An -tx1 | tr -d ' \n')" >"$d/hex/f"
    printf 'x%sy' "$(printf '%s' "$v" | od -An -tx1 | tr -d ' \n' | tr a-f A-F)" >"$d/HEX/f"
    printf 'x%sy' "$(printf '%s' "$v" | rev)" >"$d/rev/f"
    found_any "$VS_TMP/forms.vaulted" "$d/hex" && found_any "$VS_TMP/forms.vaulted" "$d/HEX" &&
        found_any "$VS_TMP/forms.vaulted" "$d/rev"
}
check "the detector finds base64 (3 alignments), hex (both cases) and reversed forms, and not clean text" detector_selftest
table="$VS_TMP/table"
printf '%-10s %-26s %-9s %-9s %-9s\n' class case expected result control >"$table"
declare -A class_leaks class_cases
n=0
for d in "$OUT/vault"/*/; do
    name=$(basename "$d")
    { read -r class; read -r expect; } <"$d/meta"
    sent_v="$SINKDIR/vault.$name.bin" sent_c="$SINKDIR/control.$name.bin"
    scan_v=("$d"); [ -f "$sent_v" ] && scan_v+=("$sent_v")
    scan_c=("$OUT/control/$name"); [ -f "$sent_c" ] && scan_c+=("$sent_c")
    why=""
    if found_any "$VS_TMP/forms.vaulted" "${scan_v[@]}"; then
        result=LEAKED; why="a vaulted value"
    elif [ "$expect" = decoy ]; then
        if found_any "$VS_TMP/forms.decoys" "${scan_v[@]}"; then result=decoy; else result=none; why="the documented limit was not seen"; fi
    elif found_any "$VS_TMP/forms.decoys" "${scan_v[@]}"; then
        result=LEAKED; why="a stale plaintext copy"
    else
        result=none
    fi
    rc=$(cat "$d/rc")
    if [ "$rc" = 124 ]; then why="timed out"; fi
    if grep -qE 'command not found|No such file or directory.*(cc|gdb|strace|node|python3)$' "$d/err"; then why="could not run: $(grep -m1 'command not found' "$d/err")"; fi
    if found_any "$VS_TMP/forms.vaulted" "${scan_c[@]}"; then control=leaked; else control=-; fi
    class_cases[$class]=$((${class_cases[$class]:-0} + 1))
    [ "$control" = leaked ] && class_leaks[$class]=$((${class_leaks[$class]:-0} + 1))
    want=$([ "$expect" = decoy ] && echo decoy || echo none)
    printf '%-10s %-26s %-9s %-9s %-9s\n' "$class" "$name" "$want" "$result" "$control" >>"$table"
    n=$((n + 1))
    if [ -z "$why" ]; then ok "$class: $name: $result"; else not_ok "$class: $name: $why"; fi
done
check "at least 50 attack cases ran (ran $n)" test "$n" -ge 50
for class in "${!class_cases[@]}"; do
    k=${class_leaks[$class]:-0}
    check "control: $class: without vaultshim the detector sees a value in $k of ${class_cases[$class]} cases" test "$k" -ge 1
done
check "vaultd refused the attacks in the audit log (denied lines)" bash -c '[ "$(grep -c "\"decision\":\"denied\"" "$0")" -ge 10 ]' \
    "$VAULT_HOME/audit.log"
check "no value in vaultd's log or the audit log" bash -c '! grep -qaF -e "$1" -e "$2" -e "$3" -e "$4" -e "$5" "$0" "$6"' \
    "$VS_TMP/vaultd.log" $VAULTED "$VAULT_HOME/audit.log"
check "the audit log verifies" bash -c '"$0" audit --verify >/dev/null' "$VAULTCTL"

if [ -n "${E2E_KEEP_DIR:-}" ]; then # keep what the cases did, for a look afterwards
    mkdir -p "$E2E_KEEP_DIR" && cp -r "$OUT" "$SINKDIR" "$VS_TMP/agent."*.log "$E2E_KEEP_DIR/"
    cp "$VAULT_HOME/audit.log" "$E2E_KEEP_DIR/"
fi
echo
cat "$table"
diag "leak_battery.sh took $((SECONDS - started)) s"
echo "$((_tap_n - _tap_failed)) passed, $_tap_failed failed"
vs_end
