#!/usr/bin/env bash
# The exec family's real functions are resolved lazily (not in every
# process's constructor: docs/shim-startup.md), but never inside a child
# that shares its parent's memory or skipped fork's handlers: dlsym there
# locks and may allocate. The attack: a program makes a child with vfork,
# clone(CLONE_VM|CLONE_VFORK), _Fork or fork and execs from it; with
# LD_DEBUG=bindings the loader prints every dlsym binding, so a binding
# made by the shim after the child's marker line (and before the parent
# resumes) is a resolution inside the child. Also: the exec still works.
. "$(dirname "$0")/../lib.sh"
vs_clean_env "$@"
vs_begin
SHIM="$VS_BUILD/libvaultshim.so"
# Built here without sanitizers: an ASan program's vfork and clone go to
# ASan's interceptors, not through the shim, as no ordinary program's do.
P="$VS_TMP/vfork-probe"
cc -std=c11 -D_GNU_SOURCE -O2 -o "$P" "$(dirname "$0")/../helpers/vfork-probe.c" || not_ok "the probe builds"
o="$VS_TMP/out"

for how in vfork clone _Fork fork; do
    LD_DEBUG=bindings LD_PRELOAD="$SHIM" "$P" "$how" /bin/true >"$o" 2>&1; rc=$?
    check "$how + execve under the shim: the child's program runs and exits 0" \
        bash -c '[ "$0" -eq 0 ] && grep -q "MARK child before exec" "$1" && grep -q "MARK parent done" "$1"' "$rc" "$o"
    # Lines from the child's marker up to the new image's first binding (the
    # vDSO's): anything bound there was bound in the child before its exec.
    check "$how: the shim resolves the exec family before the child exists, not in it" bash -c '
        in_child=$(sed -n "/MARK child before exec/,/linux-vdso/p" "$0" | grep -c "binding file [^ ]*libvaultshim.so ")
        before=$(sed -n "1,/MARK child before exec/p" "$0" | grep -c "binding file [^ ]*libvaultshim.so .*symbol .execve[^a-z_]")
        [ "$in_child" -eq 0 ] && [ "$before" -eq 1 ]' "$o"
done

# A process that starts nothing resolves none of them (the start-up saving).
LD_DEBUG=bindings LD_PRELOAD="$SHIM" /bin/true >"$o" 2>&1
check "a process that execs nothing resolves no exec-family symbol" bash -c '
    ! grep -qE "binding file [^ ]*libvaultshim.so .*symbol .(execve|execvpe|posix_spawn|system|popen)[^a-z_]" "$0"' "$o"
vs_end
