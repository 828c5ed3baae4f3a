# Shared helpers for integration scripts: TAP output, a throwaway vault home,
# fake tokens, and checks that never print a secret value.
# Source it; call vs_begin first and vs_end last.
set -u
: "${VS_BUILD:?VS_BUILD must name the build folder}"
VAULTCTL="$VS_BUILD/vaultctl"
PROBE="$VS_BUILD/tests/helpers/vs-probe-store"
_tap_n=0
_tap_failed=0

vs_begin() {
    VS_TMP=$(mktemp -d /tmp/vs-it.XXXXXX)
    chmod 700 "$VS_TMP"
    export VAULT_HOME="$VS_TMP/home" VAULT_KEYFILE=
    trap vs_cleanup EXIT
}

vs_cleanup() {
    local rc=$?
    [ -n "${VS_CLEANUP_EXTRA:-}" ] && eval "$VS_CLEANUP_EXTRA"
    rm -rf "$VS_TMP"
    exit "$rc"
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
