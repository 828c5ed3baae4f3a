#!/usr/bin/env bash
# vaultd against real processes: an allowlisted probe gets exactly its
# grants; each peer check is broken by a real process and refused with its
# reason in the audit log; rotation, revocation and lock take effect on the
# next request; hostile frames leave the daemon serving.
# Probes run in a controlled environment: the machine's own (CA bundles,
# proxies, PYTHON* settings) must not decide what these cases test.
. "$(dirname "$0")/../lib.sh"
vs_clean_env "$@"
vs_begin
vs_trusted_dir
chmod 711 "$VS_TMP"   # nobody reaches the socket folder inside
V=$VAULTCTL
T=$VS_TRUSTED
PY=/usr/bin/python3
HELPERS="$(cd "$(dirname "$0")/../helpers" && pwd)"
cp "$VS_BUILD/tests/helpers/vs-probe-client" "$T/probe"
cp "$VS_BUILD/tests/helpers/vs-probe-client" "$T/probe-copy"
cp "$HELPERS/vs_client.py" "$T/probe.py"
cp "$VS_BUILD/tests/helpers/vs-probe-client" "$T/pinned"; printf '\0' >>"$T/pinned"
cp "$VS_BUILD/tests/helpers/vs-probe-client" "$T/mispinned"; printf '\0\0' >>"$T/mispinned"
chmod 755 "$T/pinned" "$T/mispinned"
cp "$HELPERS/vs_client.py" "$T/other.py"
cp "$HELPERS/vs_client.py" "$T/big.py"
chmod 755 "$T/probe" "$T/probe-copy"; chmod 644 "$T/probe.py" "$T/other.py" "$T/big.py"

"$V" init --keyfile >/dev/null
api=$(fake_token api); py=$(fake_token py)
printf '%s' "$api" | "$V" save api_token >/dev/null
printf '%s' "$py" | "$V" save py_token >/dev/null
# bigfiles: nine rendered files of 30 KB each, more than the answers vaultd
# holds for one fsync (4 frames' worth): the round flushes in the middle.
BIG="1 2 3 4 5 6 7 8 9"
cat >"$T/policy.conf" <<CONF
protect = [ "*_TOKEN" ];
tools = (
  { name = "probe"; exe = "$T/probe"; env = { PROBE_TOKEN = "api_token"; }; files = [ "netrc" ];
    allow_args = [ "ok **", "auth **" ]; deny_args = [ "auth token **" ]; },
  { name = "pyprobe"; exe = "$PY"; script = "$T/probe.py"; env = { PY_TOKEN = "py_token"; }; files = [ "netrc" ]; },
  { name = "pinned"; exe = "$T/pinned"; sha256 = "$(sha256sum "$T/pinned" | cut -d' ' -f1)"; env = [ "py_token" ]; },
  { name = "mispinned"; exe = "$T/mispinned"; sha256 = "$(printf x | sha256sum | cut -d' ' -f1)"; env = [ "py_token" ]; },
  { name = "bigfiles"; exe = "$PY"; script = "$T/big.py"; env = { PY_TOKEN = "py_token"; };
    files = [ $(for i in $BIG; do printf '"big%s",' "$i"; done | sed 's/,$//') ]; }
);
files = ( { name = "netrc"; path = "$T/home/.netrc";
            template = "machine localhost login agent password {{api_token}}\n"; }
$(for i in $BIG; do printf ', { name = "big%s"; path = "%s/home/big%s"; template = "%s {{api_token}}\\n"; }\n' \
    "$i" "$T" "$i" "$(printf "%030000d" "$i")"; done) );
CONF
chmod 644 "$T/policy.conf"
check "vaultd starts on a key-file vault and answers status" vs_start_vaultd "$T/policy.conf" --peer-group nogroup
check "status reports unlocked and the policy" bash -c '"$0" status | grep -q "^state: unlocked" &&
    "$0" status | grep -q "5 tools, 5 available; 10 files"' "$V"
check "with --peer-group the socket is 0660 in a 0710 folder of that group" bash -c '[ "$(stat -c %a:%G "$VAULT_SOCKET")" = 660:nogroup ] &&
    [ "$(stat -c %a:%G "$(dirname "$VAULT_SOCKET")")" = 710:nogroup ]'
check "the index is published beside the socket, 0644, with no value" bash -c '
    f="$(dirname "$VAULT_SOCKET")/index"; [ -f "$f" ] && [ "$(stat -c %a "$f")" = 644 ]'
check "the index holds no value" absent_in "$api" "$(dirname "$VAULT_SOCKET")"

# --- granted
probe() { VS_PROBE="${VS_PROBE:-}" "$T/probe" "$@" >"$VS_TMP/out" 2>"$VS_TMP/err"; }
want_env="grant PROBE_TOKEN 1 $(sha256 "$api")"
want_file="file $T/home/.netrc $(printf 'machine localhost login agent password %s\n' "$api" | wc -c | tr -d ' ') $(sha256 "$(printf 'machine localhost login agent password %s\n_' "$api")" )"
rendered=$(printf 'machine localhost login agent password %s\n' "$api" | sha256sum | cut -d' ' -f1)
check "the allowlisted probe gets exactly its env grant" bash -c 'VS_PROBE= "$0" ok >"$2" && grep -qx "$1" "$2" &&
    [ "$(grep -c ^grant "$2")" = 1 ]' "$T/probe" "$want_env" "$VS_TMP/out"
check "and is told its managed file" grep -qx "path $T/home/.netrc" "$VS_TMP/out"
check "RENDER_FILE returns the rendered template" bash -c 'VS_PROBE="render=$3" "$0" ok >"$2" &&
    grep -q "^file $3 [0-9]* $1$" "$2"' "$T/probe" "$rendered" "$VS_TMP/out" "$T/home/.netrc"
check "a file outside the grant is refused" bash -c '! VS_PROBE="render=/etc/passwd" "$0" ok >/dev/null 2>"$1" &&
    grep -q "not a file this tool is granted" "$1"' "$T/probe" "$VS_TMP/err"
check "the grant's audit line names secret and version, no value" bash -c '
    last_audit() { grep "\"event\":\"grant\"" "$VAULT_HOME/audit.log" | tail -1; }
    grep "\"decision\":\"ok\"" "$VAULT_HOME/audit.log" | grep "\"event\":\"grant\"" | tail -1 |
      grep -q "PROBE_TOKEN=api_token@v1"'
check "no value in the audit log or the daemon's log" bash -c '. "$0"; absent_in "$1" "$VAULT_HOME" "$2" &&
    absent_in "$3" "$VAULT_HOME" "$2"' "$(dirname "$0")/../lib.sh" "$api" "$VS_TMP/vaultd.log" "$py"
check "the interpreter tool (python3 + its script) gets its grant" bash -c '
    PYTHONNOUSERSITE=1 "$0" "$1" grant | grep -qx "grant PY_TOKEN 1 $2"' "$PY" "$T/probe.py" "$(sha256 "$py")"
check "its audit line names the script" bash -c 'grep "\"tool\":\"pyprobe\"" "$VAULT_HOME/audit.log" | tail -1 |
    grep -qF "\"script\":\"$0\""' "$T/probe.py"
# One step (vaultd runs as root: it can inspect a non-dumpable peer): the
# tool is non-dumpable before it asks, and the answer to GRANTS is the values.
check "one step: non-dumpable first, GRANTS with ONE_STEP, the same value at once" bash -c '
    PYTHONNOUSERSITE=1 "$0" "$1" grant-one | grep -qx "grant PY_TOKEN 1 $2"' "$PY" "$T/probe.py" "$(sha256 "$py")"
check "and its grant has its audit line" bash -c 'grep "\"tool\":\"pyprobe\"" "$VAULT_HOME/audit.log" | tail -1 |
    grep -q "\"decision\":\"ok\".*PY_TOKEN=py_token@v1"'
check "a CONFIRM on top of a one-step grant is refused" bash -c '
    PYTHONNOUSERSITE=1 "$0" "$1" grant-one-confirm >/dev/null 2>"$2"; [ $? = 3 ] && grep -q "CONFIRM without a granted GRANTS" "$2"' \
    "$PY" "$T/probe.py" "$VS_TMP/err"

# Pipelined as the shim does it: the RENDER_FILE right behind GRANTS, both
# answers in order (vaultd serves several frames of a connection per round).
netrc_sha=$(printf 'machine localhost login agent password %s\n' "$api" | sha256sum | cut -d' ' -f1)
check "one burst (GRANTS with ONE_STEP, RENDER_FILE behind it): the values, then the file" bash -c '
    out=$(PYTHONNOUSERSITE=1 "$0" "$1" burst "$2") && [ "$out" = "$(printf "grant PY_TOKEN 1 %s\nfile %s" "$3" "$4")" ]' \
    "$PY" "$T/probe.py" "$T/home/.netrc" "$(sha256 "$py")" "$netrc_sha"
check "and both have their audit lines" bash -c 'tail -2 "$VAULT_HOME/audit.log" | grep -c "\"decision\":\"ok\"" | grep -qx 2 &&
    tail -1 "$VAULT_HOME/audit.log" | grep -q "\"event\":\"render\""'

# WITH_FILES (what the shim sends when the index says vaultd takes it): the
# renders ride on the request that grants, one frame, answered in order.
want_py_file=$(printf "grant PY_TOKEN 1 %s\nfile %s" "$(sha256 "$py")" "$netrc_sha")
check "one frame (GRANTS with ONE_STEP and WITH_FILES): the values, then the file, nothing more" bash -c '
    out=$(PYTHONNOUSERSITE=1 "$0" "$1" with-files) && [ "$out" = "$2" ]' "$PY" "$T/probe.py" "$want_py_file"
check "and the grant and the render have their audit lines, in that order" bash -c '
    tail -2 "$VAULT_HOME/audit.log" | head -1 | grep -q "\"event\":\"grant\".*\"decision\":\"ok\"" &&
    tail -1 "$VAULT_HOME/audit.log" | grep -q "\"event\":\"render\".*\"decision\":\"ok\".*\"path\":\"$0\""' \
    "$T/home/.netrc"
check "two steps, WITH_FILES on CONFIRM: the values, then the file" bash -c '
    out=$(PYTHONNOUSERSITE=1 "$0" "$1" with-files two-step) && [ "$out" = "$2" ]' "$PY" "$T/probe.py" "$want_py_file"
want_big="grant PY_TOKEN 1 $(sha256 "$py")"
for i in $BIG; do want_big+=$'\n'"file $(printf '%030000d %s\n' "$i" "$api" | sha256sum | cut -d' ' -f1)"; done
check "nine files of 30 KB WITH_FILES (the held answers flushed mid-round): all of them, in order" bash -c '
    out=$(PYTHONNOUSERSITE=1 "$0" "$1" with-files) && [ "$out" = "$2" ]' "$PY" "$T/big.py" "$want_big"
check "a client gone right after asking WITH_FILES for them leaves vaultd serving" bash -c '
    PYTHONNOUSERSITE=1 "$0" "$1" with-files hangup && "$2" status >/dev/null &&
    out=$(PYTHONNOUSERSITE=1 "$0" "$1" with-files) && [ "$out" = "$3" ]' "$PY" "$T/big.py" "$V" "$want_big"
check "the index says vaultd takes WITH_FILES (flag 0x2)" bash -c '
    od -An -tu4 -j24 -N4 "$(dirname "$VAULT_SOCKET")/index" | awk "{ exit !(int(\$1 / 2) % 2) }"'
check "an executable with the pinned sha256 is granted" bash -c '"$0" | grep -q "^grant py_token 1 "' "$T/pinned"
check "a token passed in argv is masked in the audit line" bash -c '"$0" ok "x$1y" >/dev/null &&
    grep "\"event\":\"grant\"" "$VAULT_HOME/audit.log" | tail -1 | grep -q "\"x\*\*\*\*\*\*\*\*y\"" &&
    ! grep -qF "$1" "$VAULT_HOME/audit.log"' "$T/probe" "$api"

# A non-root peer: the container set-up. vaultd verifies it went non-dumpable.
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups env VAULT_SOCKET="$VAULT_SOCKET" "$@"; }
check "a non-root probe is granted after making itself non-dumpable" bash -c '
    setpriv --reuid=nobody --regid=nogroup --clear-groups env VAULT_SOCKET="$VAULT_SOCKET" "$0" ok | grep -qx "$1"' \
    "$T/probe" "$want_env"
check "a non-root Python tool asking in one step is granted (vaultd reads its maps and environ non-dumpable)" bash -c '
    setpriv --reuid=nobody --regid=nogroup --clear-groups env VAULT_SOCKET="$VAULT_SOCKET" PYTHONNOUSERSITE=1 \
      "$0" "$1" grant-one | grep -qx "grant PY_TOKEN 1 $2"' "$PY" "$T/probe.py" "$(sha256 "$py")"

# --- refused, each with its reason in the audit log
refused_with() { # DESC REASON-REGEX CMD...: refused, no value out, a new audit line with the reason
    local desc=$1 reason=$2 before; shift 2
    before=$(wc -l <"$VAULT_HOME/audit.log")
    if "$@" >"$VS_TMP/out" 2>"$VS_TMP/err"; then not_ok "$desc (was granted)"; return; fi
    if grep -q '^grant' "$VS_TMP/out"; then not_ok "$desc (a value was released)"; return; fi
    if [ "$(wc -l <"$VAULT_HOME/audit.log")" -le "$before" ]; then not_ok "$desc (no audit line)"; return; fi
    if ! last_audit | grep -q '"decision":"denied"' || ! last_audit | grep -qE -- "$reason"; then
        not_ok "$desc (audit: $(last_audit | grep -o '"reason":"[^"]*"'))"; return
    fi
    ok "$desc"
}
refused_with "a non-root probe that stays dumpable" "did not make itself non-dumpable" \
    as_nobody env VS_PROBE=stay-dumpable "$T/probe" ok
refused_with "another executable (the probe's original, not in the policy)" "no tool in the policy is this executable" \
    "$VS_BUILD/tests/helpers/vs-probe-client" ok
refused_with "an executable whose sha256 differs from the pin" "pinned sha256" "$T/mispinned"
refused_with "a process in its own user namespace" "namespace" unshare --user --map-root-user "$T/probe" ok
refused_with "a copy of the allowlisted executable" "no tool in the policy is this executable" "$T/probe-copy" ok
refused_with "the allowlisted executable run through ld.so" "dynamic loader" /lib64/ld-linux-x86-64.so.2 "$T/probe" ok
refused_with "denied arguments" "deny_args" "$T/probe" auth token
refused_with "arguments no allow_args pattern matches" "no allow_args pattern matches" "$T/probe" frob
refused_with "the interpreter with another script" "no tool in the policy is this executable" \
    env PYTHONNOUSERSITE=1 "$PY" "$T/other.py" grant
refused_with "an interpreter option before the script" "option before the script" \
    env PYTHONNOUSERSITE=1 "$PY" -u "$T/probe.py" grant
refused_with "a Python tool with user site-packages enabled" "PYTHONNOUSERSITE" "$PY" "$T/probe.py" grant
refused_with "a tracer attached (strace)" "[Tt]racer" strace -f -o /dev/null "$T/probe" ok
# (as nobody: a root peer's dumpability cannot be verified from outside)
refused_with "ONE_STEP asked while still dumpable" "did not make itself non-dumpable before GRANTS with ONE_STEP" \
    as_nobody PYTHONNOUSERSITE=1 "$PY" "$T/probe.py" grant-one-dumpable
refused_with "ONE_STEP from a traced tool (attached before it went non-dumpable)" "[Tt]racer" \
    strace -f -o /dev/null env PYTHONNOUSERSITE=1 "$PY" "$T/probe.py" grant-one
refused_with "a RENDER_FILE sent ahead of its GRANTS in one burst" "RENDER_FILE before the grant was confirmed" \
    env PYTHONNOUSERSITE=1 "$PY" "$T/probe.py" burst-render-first "$T/home/.netrc"
check "and the GRANTS behind it was never answered (no value, no file)" bash -c '! grep -qE "^(grant|file)" "$0"' "$VS_TMP/out"
refused_with "a dumpable ONE_STEP burst with a RENDER_FILE behind it" "did not make itself non-dumpable before GRANTS" \
    as_nobody PYTHONNOUSERSITE=1 "$PY" "$T/probe.py" burst-dumpable "$T/home/.netrc"
check "and its reason reached the client, no file" bash -c 'grep -q "^refused: .*non-dumpable" "$0" && ! grep -q "^file" "$1"' \
    "$VS_TMP/err" "$VS_TMP/out"
diag "the dumpable burst was told: $(head -c 300 "$VS_TMP/err")"
renders_before=$(grep -c '"event":"render"' "$VAULT_HOME/audit.log")
refused_with "WITH_FILES asked while still dumpable" "did not make itself non-dumpable before GRANTS" \
    as_nobody PYTHONNOUSERSITE=1 "$PY" "$T/probe.py" with-files dumpable
check "and no file was rendered or logged as rendered" bash -c '! grep -q "^file" "$0" &&
    [ "$(grep -c "\"event\":\"render\"" "$VAULT_HOME/audit.log")" = "$1" ]' "$VS_TMP/out" "$renders_before"
refused_with "WITH_FILES on a GRANTS in two steps (it belongs on CONFIRM)" "WITH_FILES goes with ONE_STEP" \
    env PYTHONNOUSERSITE=1 "$PY" "$T/probe.py" with-files no-step
refused_with "WITH_FILES other than 1" "WITH_FILES must be 1" \
    env PYTHONNOUSERSITE=1 "$PY" "$T/probe.py" with-files bad
check "none of them got a file or a render line" bash -c '! grep -q "^file" "$0" &&
    [ "$(grep -c "\"event\":\"render\"" "$VAULT_HOME/audit.log")" = "$1" ]' "$VS_TMP/out" "$renders_before"
cc -shared -fPIC -o "$VS_TMP/evil.so" -x c - <<<'void evil(void) {}'
# (ASAN_OPTIONS: an ASan-built probe would otherwise abort before connecting.)
refused_with "a foreign LD_PRELOAD library mapped" "evil.so|LD_PRELOAD" \
    env ASAN_OPTIONS=verify_asan_link_order=0 LD_PRELOAD="$VS_TMP/evil.so" "$T/probe" ok
for var in "LD_AUDIT=$VS_TMP/evil.so" "LD_LIBRARY_PATH=$VS_TMP" "BASH_ENV=/tmp/x" "GIT_CONFIG_COUNT=1" \
           "https_proxy=http://127.0.0.1:9" "SSL_CERT_FILE=/tmp/ca.pem" "GIT_SSH_COMMAND=x" "CURL_HOME=/tmp"; do
    refused_with "injection variable ${var%%=*}" "${var%%=*}" env "$var" "$T/probe" ok
done
# A language runtime's variables load code into that runtime only: for a C
# tool they are no threat (npm run exports npm_config_* to every child).
check "NODE_OPTIONS, npm_config_*, PERL5OPT, RUBYOPT, JAVA_TOOL_OPTIONS do not refuse a C tool" \
    bash -c 'env NODE_OPTIONS=--require=/tmp/x.js npm_config_user_agent=npm PERL5OPT=-d RUBYOPT=-rx \
        JAVA_TOOL_OPTIONS=-javaagent:x "$0" ok | grep -q ^grant' "$T/probe"
check "git's own GIT_EXEC_PATH (a trusted folder) does not refuse a tool" \
    bash -c 'env GIT_EXEC_PATH=/usr/lib/git-core "$0" ok | grep -q ^grant' "$T/probe"
refused_with "GIT_EXEC_PATH naming a folder the agent writes" "GIT_EXEC_PATH" env GIT_EXEC_PATH="$VS_TMP" "$T/probe" ok
check "a system CA bundle in SSL_CERT_FILE does not refuse a tool" \
    bash -c 'env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt "$0" ok | grep -q ^grant' "$T/probe"
refused_with "injection variable PYTHONPATH (Python tool)" "PYTHONPATH" \
    env PYTHONNOUSERSITE=1 PYTHONPATH=/tmp "$PY" "$T/probe.py" grant
refused_with "connect, fork, the child asks" "not sent by the connected process" env VS_PROBE=fork-send "$T/probe" ok
refused_with "connect, exec, the new image asks" "exited or exec'd" env VS_PROBE=exec-send "$T/probe" ok
chmod 666 "$T/probe.py"
refused_with "a script writable by others" "probe.py" env PYTHONNOUSERSITE=1 "$PY" "$T/probe.py" grant
chmod 644 "$T/probe.py"; chmod 775 "$T/probe"
refused_with "an executable writable by its group" "probe" "$T/probe" ok
chmod 755 "$T/probe"
check "and granted again once the modes are safe" probe ok

# --- the vault changes under the daemon: no restart needed
api2=$(fake_token api)
printf '%s' "$api2" | "$V" rotate api_token >/dev/null
check "a rotation is served at the next request" bash -c '"$0" ok | grep -qx "grant PROBE_TOKEN 2 $1"' \
    "$T/probe" "$(sha256 "$api2")"
"$V" revoke api_token --reason "drill" >/dev/null
refused_with "a revoked secret" "api_token is revoked: drill" "$T/probe" ok
"$V" restore api_token >/dev/null
check "restored, granted again" probe ok
"$V" lock >/dev/null
refused_with "a locked vault" "locked" "$T/probe" ok
# Locked, vaultd has no values to mask with: the refusal's line masks every argument
check "locked: a token passed in argv is not in the refusal's audit line" bash -c '"$0" ok "x$1y" >/dev/null 2>&1
    grep "\"event\":\"grant\"" "$2" | tail -1 | grep -q "\"argv\":\[\"\*\*\*\*\*\*\*\*\"," &&
    ! grep -qF "$1" "$2"' "$T/probe" "$api" "$VAULT_HOME/audit.log"
check "unlock (key file) serves again" bash -c '"$0" unlock >/dev/null && "$1" ok >/dev/null' "$V" "$T/probe"

# --- the policy: a bad reload keeps the running one
cp "$T/policy.conf" "$T/policy.good"
printf 'tools = ( { name = "x"; exe = "%s"; bogus = 1; } );\n' "$T/probe" >"$T/policy.conf"
check "a bad policy is refused with file:line" bash -c '! "$0" reload 2>"$1" && grep -qE "policy.conf:1: .*bogus" "$1"' \
    "$V" "$VS_TMP/err"
check "and the running policy stays" probe ok
cp "$T/policy.good" "$T/policy.conf"
check "a good reload is accepted" bash -c '"$0" reload | grep -q "policy reloaded"' "$V"

# --- hostile peers
for kind in empty big random unknown-op reply-op truncated fds; do
    timeout 10 "$PY" "$T/probe.py" hostile "$kind" >/dev/null 2>&1
done
check "after hostile frames the daemon still serves" probe ok
timeout 20 "$PY" "$T/probe.py" hold 1000 3 >"$VS_TMP/held" &
holder=$!
for _ in $(seq 1 100); do grep -q held "$VS_TMP/held" 2>/dev/null && break; sleep 0.05; done
check "with a thousand half-open connections held, the daemon still serves" probe ok
wait "$holder"
# Every value vaultd decrypted above (environment grants, netrc and nine big
# file renders, the masks of each logged decision) is wiped once its answer
# is built: none is left anywhere in its memory.
no_value_in_vaultd() {
    python3 "$HELPERS/memdump.py" "$VAULTD_PID" "$VS_TMP/vaultd.mem" >/dev/null &&
        absent_in "$api" "$VS_TMP/vaultd.mem" && absent_in "$api2" "$VS_TMP/vaultd.mem" &&
        absent_in "$py" "$VS_TMP/vaultd.mem"
}
check "after these grants and renders no value is left in vaultd's memory" no_value_in_vaultd
rm -f "$VS_TMP/vaultd.mem"
check "status works from the owner's uid" bash -c '"$0" status >/dev/null' "$V"
check "status is refused to another uid (who can connect: --peer-group)" bash -c '
    ! setpriv --reuid=nobody --regid=nogroup --clear-groups "$0" status --socket "$VAULT_SOCKET" 2>"$1" &&
    grep -q "only the vault owner" "$1"' "$V" "$VS_TMP/err"
check "SIGTERM: clean exit, socket removed" bash -c 'kill -TERM "$0"; for _ in $(seq 1 100); do kill -0 "$0" 2>/dev/null || break; sleep 0.05; done;
    ! kill -0 "$0" 2>/dev/null && [ ! -e "$VAULT_SOCKET" ]' "$VAULTD_PID"
check "the audit chain still verifies after all of it" bash -c '"$0" audit --verify >/dev/null' "$V"
check "vaultd's log has no sanitizer report (ASan build) and no value" bash -c '! grep -qE "Sanitizer|runtime error" "$0"' \
    "$VS_TMP/vaultd.log"
vs_end
