#!/usr/bin/env bash
# The hardening flags the Makefile promises are in the binaries it built:
# PIE, full RELRO (BIND_NOW), non-executable stack, stack protector,
# _FORTIFY_SOURCE (outside sanitizer builds), and libc-only dependencies
# for nothing but what is declared.
. "$(dirname "$0")/../lib.sh"
vs_begin
bin=$VAULTCTL
# make valgrind: vaultctl is a shell wrapper running vaultctl.real (a copy
# of the real vaultctl) under memcheck; the flags are that binary's.
[ -n "${VS_VALGRIND:-}" ] && bin="$VS_BUILD/vaultctl.real"
check "vaultctl is a position-independent executable" bash -c 'readelf -h "$0" | grep -q "Type:.*DYN"' "$bin"
check "full RELRO: GNU_RELRO segment and BIND_NOW" bash -c 'readelf -lW "$0" | grep -q GNU_RELRO && readelf -dW "$0" | grep -qE "BIND_NOW|FLAGS.*NOW"' "$bin"
check "non-executable stack" bash -c '! readelf -lW "$0" | grep GNU_STACK | grep -q RWE' "$bin"
check "stack protector is in use" bash -c 'readelf -sW "$0" | grep -q __stack_chk_fail' "$bin"
if readelf -sW "$bin" | grep -q __asan_init; then
    ok "fortify check not applicable to the sanitizer build"
else
    check "_FORTIFY_SOURCE checks are in use" bash -c 'readelf -sW "$0" | grep -qE "__[a-z]+_chk@"' "$bin"
fi
check "vaultctl links libsodium and libc, nothing unexpected" bash -c '
    bad=$(readelf -dW "$0" | sed -n "s/.*Shared library: \[\(.*\)\]/\1/p" | grep -vE "^(libsodium|libconfig|libc|libasan|libubsan|libm|libpthread|libdl|libstdc\+\+|libgcc_s|ld-linux-x86-64)\." );
    [ -z "$bad" ]' "$bin"
vs_end
