# Shared helpers for integration scripts: TAP output, a throwaway vault home,
# fake tokens, and checks that never print a secret value.
# Source it; call vs_begin first and vs_end last.
set -u
: "${VS_BUILD:?VS_BUILD must name the build folder}"
VAULTCTL="$VS_BUILD/vaultctl"
PROBE="$VS_BUILD/tests/helpers/vs-probe-store"
_tap_n=0
_tap_failed=0

# path_trusted DIR: DIR and every folder above it are owned by root (or by
# us) and not writable by group or others: what vaultd asks of the files it
# trusts (executables, scripts, the shim it sees mapped into a tool).
path_trusted() {
    local d perm owner
    d=$(readlink -f "$1") || return 1
    while :; do
        read -r perm owner < <(stat -c '%a %u' "$d") || return 1
        [ "$owner" = 0 ] || [ "$owner" = "$(id -u)" ] || return 1
        (( (8#$perm & 8#022) == 0 )) || return 1
        [ "$d" = / ] && return 0
        d=$(dirname "$d")
    done
}

# When the build folder sits somewhere vaultd cannot trust (a clone under
# /tmp), the tests run a copy of its programs from a root-owned folder.
vs_trusted_build() {
    path_trusted "$VS_BUILD" && return 0
    local copy
    copy=$(mktemp -d /run/vs-build.XXXXXX) || { echo "not ok - no trusted folder for the build (need /run)"; exit 1; }
    chmod 755 "$copy"
    mkdir -p "$copy/tests"
    cp -a "$VS_BUILD/vaultctl" "$VS_BUILD/vaultd" "$VS_BUILD/libvaultshim.so" "$copy/"
    [ -x "$VS_BUILD/vault-exec" ] && cp -a "$VS_BUILD/vault-exec" "$copy/"
    # make valgrind: vaultctl is a wrapper running vaultctl.real beside it
    [ -x "$VS_BUILD/vaultctl.real" ] && cp -a "$VS_BUILD/vaultctl.real" "$copy/"
    cp -a "$VS_BUILD/tests/helpers" "$copy/tests/"
    echo "# build folder $VS_BUILD is not a trusted path for vaultd: running a copy in $copy"
    VS_BUILD=$copy
    VAULTCTL="$VS_BUILD/vaultctl"
    PROBE="$VS_BUILD/tests/helpers/vs-probe-store"
    VS_CLEANUP_EXTRA="${VS_CLEANUP_EXTRA:+$VS_CLEANUP_EXTRA; }rm -rf '$copy'"
}

# vs_clean_env "$@": run first, right after sourcing this file. Re-runs the
# script under env -i with a fixed PATH, HOME and LANG, keeping VS_BUILD and
# the variables named in VS_KEEP, so the machine's own environment (CA
# bundles, proxies, PYTHON* settings) does not decide what the cases test.
vs_clean_env() {
    [ -n "${VS_CLEAN_ENV:-}" ] && return 0
    local keep=() v
    for v in VS_BUILD ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS VS_SAN_LOGS VS_VALGRIND ${VS_KEEP:-}; do
        [ -n "${!v:-}" ] && keep+=("$v=${!v}")
    done
    exec env -i VS_CLEAN_ENV=1 PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$HOME" LANG=C.UTF-8 "${keep[@]}" \
        bash "$0" "$@"
}

vs_begin() {
    VS_TMP=$(mktemp -d /tmp/vs-it.XXXXXX)
    chmod 700 "$VS_TMP"
    export VAULT_HOME="$VS_TMP/home" VAULT_KEYFILE=
    trap vs_cleanup EXIT
    vs_trusted_build
    export VS_BUILD
}

vs_cleanup() {
    local rc=$?
    [ -n "${VS_CLEANUP_EXTRA:-}" ] && eval "$VS_CLEANUP_EXTRA"
    vs_keep_sanitizer_reports
    rm -rf "$VS_TMP"
    exit "$rc"
}

# VS_SAN_LOGS=DIR (the ASan part of make test): files of this run holding
# a sanitizer report (vaultd's log, a captured stderr) are copied to DIR
# before the run's folder is removed, so none goes unseen. UBSan beside ASan
# prints to stderr whatever its log_path says.
vs_keep_sanitizer_reports() {
    [ -n "${VS_SAN_LOGS:-}" ] && [ -d "$VS_SAN_LOGS" ] || return 0
    local f
    grep -rlaE 'runtime error: |ERROR: (Address|Leak)Sanitizer|SUMMARY: UndefinedBehaviorSanitizer' "$VS_TMP" 2>/dev/null |
        while IFS= read -r f; do cp "$f" "$VS_SAN_LOGS/report.$(basename "$0" .sh).$$.$(basename "$f")"; done
}

ok() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $*"; }
not_ok() { _tap_n=$((_tap_n + 1)); _tap_failed=$((_tap_failed + 1)); echo "not ok $_tap_n - $*"; }
diag() { echo "# $*"; }

# check DESC CMD...: passes when CMD exits 0.
check() {
    local desc=$1; shift
    if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

vs_end() {
    echo "1..$_tap_n"
    [ "$_tap_failed" -eq 0 ]
}

# A random fake token: letters and digits, prefixed like a real one.
fake_token() { printf '%s_%s' "${1:-tok}" "$(head -c 30 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32)"; }

sha256() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# The forms of a value a leak may take: raw, base64, hex, reversed.
value_forms() {
    printf '%s\n' "$1"
    printf '%s' "$1" | base64 -w0; echo
    printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; echo
    printf '%s' "$1" | rev; echo
}

# absent_in VALUE PATH...: true when no form of VALUE occurs in any file
# below the paths. Prints nothing about the value.
absent_in() {
    local value=$1 form; shift
    while IFS= read -r form; do
        [ -n "$form" ] || continue
        if grep -rqaF -- "$form" "$@" 2>/dev/null; then
            diag "a form of the value was found under: $*"
            return 1
        fi
    done < <(value_forms "$value")
    return 0
}

# runs CMD, keeping stdout and stderr in $VS_TMP/out and $VS_TMP/err.
run() { "$@" >"$VS_TMP/out" 2>"$VS_TMP/err"; }

# err_is CODE PATTERN CMD...: CMD exits CODE with exactly one stderr line
# matching PATTERN (an extended regex).
err_is() {
    local code=$1 pattern=$2 rc; shift 2
    run "$@"; rc=$?
    if [ "$rc" -ne "$code" ]; then diag "exit $rc, wanted $code: $(head -c 300 "$VS_TMP/err")"; return 1; fi
    if [ "$(wc -l <"$VS_TMP/err")" -ne 1 ]; then diag "stderr is not one line: $(head -c 300 "$VS_TMP/err")"; return 1; fi
    grep -qE -- "$pattern" "$VS_TMP/err" || { diag "stderr: $(cat "$VS_TMP/err")"; return 1; }
}

# A work folder for files vaultd must trust (executables, scripts, policy):
# not under /tmp, whose world-writable parent makes everything in it
# untrusted. Removed by vs_cleanup.
vs_trusted_dir() {
    mkdir -p "$VS_BUILD/test-work"
    VS_TRUSTED=$(mktemp -d "$VS_BUILD/test-work/t.XXXXXX")
    chmod 755 "$VS_TRUSTED"
    VS_CLEANUP_EXTRA="${VS_CLEANUP_EXTRA:+$VS_CLEANUP_EXTRA; }rm -rf '$VS_TRUSTED'"
}

# vs_valgrind_bin: valgrind itself. Debian's /usr/bin/valgrind is a script
# that exports LD_LIBRARY_PATH=/usr/lib/debug and GLIBCXX_FORCE_NEW=1 before
# running valgrind.bin: the program under test and every child it starts
# would carry them (vaultd refuses a tool with LD_LIBRARY_PATH set).
vs_valgrind_bin() {
    local vg
    vg=$(command -v valgrind) || vg=valgrind
    if [ -x "$vg.bin" ]; then echo "$vg.bin"; else echo "$vg"; fi
}

# vs_start_vaultd POLICY [ARGS...]: starts build/vaultd on a private socket
# and waits (bounded) until it answers. Sets VAULT_SOCKET and VAULTD_PID.
vs_start_vaultd() {
    local policy=$1; shift
    export VAULT_SOCKET="$VS_TMP/run/vaultd.sock"
    mkdir -p -m 700 "$VS_TMP/run"
    # VS_VALGRIND=DIR (make valgrind): vaultd runs under memcheck, one log
    # per process in DIR, and gets longer to start. DIR/vg-pidfd.so answers
    # the one system call valgrind 3.19 lacks (tests/helpers/preload/).
    local wrap=() tries=100
    if [ -n "${VS_VALGRIND:-}" ]; then
        wrap=(env LD_PRELOAD="$VS_VALGRIND/vg-pidfd.so" "$(vs_valgrind_bin)" --quiet --leak-check=full
              --errors-for-leak-kinds=definite --show-leak-kinds=definite --num-callers=30
              --log-file="$VS_VALGRIND/vaultd.%p.$(date +%s%N).log") # pids wrap in a run
        tries=600
    fi
    "${wrap[@]}" "$VS_BUILD/vaultd" --config "$policy" --socket "$VAULT_SOCKET" "$@" 2>>"$VS_TMP/vaultd.log" &
    VAULTD_PID=$!
    VS_CLEANUP_EXTRA="${VS_CLEANUP_EXTRA:+$VS_CLEANUP_EXTRA; }kill $VAULTD_PID 2>/dev/null; wait $VAULTD_PID 2>/dev/null"
    for _ in $(seq 1 "$tries"); do
        "$VAULTCTL" status --socket "$VAULT_SOCKET" >/dev/null 2>&1 && return 0
        kill -0 "$VAULTD_PID" 2>/dev/null || break
        sleep 0.05
    done
    diag "vaultd did not start: $(tail -3 "$VS_TMP/vaultd.log")"
    return 1
}

# last_audit: the newest decision line (grant, render or reject) of vaultd.
last_audit() { grep -E '"event":"(grant|render|reject)"' "$VAULT_HOME/audit.log" | tail -1; }

# rss_check DESC ACTUAL LIMIT: asserts ACTUAL <= LIMIT (KB) for a normal
# build; for a sanitizer build of vaultd, whose allocator keeps freed memory
# in quarantine by design, the figures are reported, not asserted.
rss_check() {
    if [ -n "${VS_VALGRIND:-}" ]; then
        diag "valgrind: not meaningful under memcheck: $1 (memcheck's allocator and shadow memory are in the RSS: $2 KB, limit $3 KB; its leak check stands in)"
    elif readelf -sW "$VS_BUILD/vaultd" 2>/dev/null | grep -q __asan_init; then
        ok "$1 (sanitizer build: reported, not asserted: $2 KB, limit $3 KB)"
    else
        check "$1" test "$2" -le "$3"
    fi
}

# vs_probe_vault: a key-file vault holding a fake api_token, and a policy
# ($T/policy.conf) granting it as PROBE_TOKEN to a copy of the probe client
# in the trusted folder ($T/probe). Sets V, T, api and want (the probe's
# line for a correct grant). vaultd is not started.
vs_probe_vault() {
    vs_trusted_dir
    chmod 711 "$VS_TMP" # a non-root peer reaches the socket folder inside
    V=$VAULTCTL
    T=$VS_TRUSTED
    cp "$VS_BUILD/tests/helpers/vs-probe-client" "$T/probe" && chmod 755 "$T/probe"
    "$V" init --keyfile >/dev/null
    api=$(fake_token api)
    printf '%s' "$api" | "$V" save api_token >/dev/null
    printf 'tools = ( { name = "probe"; exe = "%s"; env = { PROBE_TOKEN = "api_token"; }; } );\n' "$T/probe" \
        >"$T/policy.conf"
    chmod 644 "$T/policy.conf"
    want="grant PROBE_TOKEN 1 $(sha256 "$api")"
}

# --- loopback servers the scripts start (each stopped by vs_cleanup)

# vs_add_cleanup CMD: one more command for vs_cleanup to run at exit.
vs_add_cleanup() { VS_CLEANUP_EXTRA="${VS_CLEANUP_EXTRA:+$VS_CLEANUP_EXTRA; }$1"; }

# vs_fill_backlog SOCKET: holds connections to a stopped vaultd's SOCKET
# until its listen backlog is full (what any local process can do), so that
# a further connect waits. Sets VS_FLOOD_PID (kill it to release them; also
# killed at cleanup) and says how many it holds.
vs_fill_backlog() {
    local ready=$VS_TMP/flood.ready
    rm -f "$ready"
    python3 - "$1" "$ready" <<'PY' &
import socket, sys, time
held = []
for _ in range(4096):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    c.setblocking(False)
    try:
        c.connect(sys.argv[1])
    except BlockingIOError:
        c.close()
        break
    held.append(c)
open(sys.argv[2], "w").write(str(len(held)))
time.sleep(60)
PY
    VS_FLOOD_PID=$!
    vs_add_cleanup "kill $VS_FLOOD_PID 2>/dev/null"
    for _ in $(seq 1 200); do [ -s "$ready" ] && break; sleep 0.05; done
    diag "backlog filled with $(cat "$ready" 2>/dev/null) connections"
}

# vs_free_port: a loopback TCP port nobody listens on now.
vs_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# vs_start_server DIR NAME CMD...: runs CMD, which prints its port first, with
# its output in DIR/NAME.port and DIR/NAME.err; sets SRV_PORT and SRV_PID.
vs_start_server() {
    local dir=$1 name=$2; shift 2
    "$@" >"$dir/$name.port" 2>"$dir/$name.err" &
    SRV_PID=$! SRV_PORT=
    vs_add_cleanup "kill $SRV_PID 2>/dev/null; wait $SRV_PID 2>/dev/null"
    for _ in $(seq 1 200); do
        [ -s "$dir/$name.port" ] && { SRV_PORT=$(head -1 "$dir/$name.port"); return 0; }
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.05
    done
    diag "$name did not start: $(head -c 300 "$dir/$name.err")"
    return 1
}

# vs_start_git_http DIR PORT: fcgiwrap and nginx serving the repositories of
# DIR (made by tests/helpers/tools/git_http.sh setup DIR PORT) on loopback;
# returns 0 once an anonymous request is answered 401 (Basic auth is on).
vs_start_git_http() {
    local g=$1 port=$2 fpid npid code
    # Its own process group: fcgiwrap's pre-forked workers outlive a kill of
    # the parent alone.
    setsid fcgiwrap -c 2 -s "unix:$g/fcgi.sock" </dev/null >>"$g/fcgiwrap.log" 2>&1 &
    fpid=$!
    vs_add_cleanup "kill -- -$fpid 2>/dev/null; wait $fpid 2>/dev/null"
    for _ in $(seq 1 100); do [ -S "$g/fcgi.sock" ] && break; sleep 0.05; done
    nginx -e "$g/error.log" -p "$g" -c "$g/nginx.conf" </dev/null >>"$g/nginx.out" 2>&1 &
    npid=$!
    vs_add_cleanup "kill $npid 2>/dev/null; wait $npid 2>/dev/null"
    for _ in $(seq 1 100); do
        code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/git/repo.git/info/refs?service=git-upload-pack")
        [ "$code" = 401 ] && return 0
        kill -0 "$npid" 2>/dev/null || break
        sleep 0.05
    done
    diag "nginx did not answer 401: $(tail -3 "$g/error.log" 2>/dev/null | tr '\n' '|')"
    return 1
}
