/* Children that share our memory (vfork, clone with CLONE_VM) or that are
 * made without fork's handlers (_Fork) may call an exec hook before they
 * exec; the hook must not resolve anything with dlsym there (it locks and
 * may allocate). So the exec family is resolved (vs_exec_resolve) in the
 * parent just before such a child is made, rather than in every process's
 * constructor: a process that never starts a program no longer pays the
 * nine dlsym. Covered here: vfork, clone, _Fork; in exec.c: fork's prepare
 * handler; in stat.c: syscall(SYS_vfork, SYS_clone, SYS_clone3).
 *
 * vfork and clone are trampolines in assembly: vfork returns twice on one
 * stack, so a C wrapper's frame would be reused by the child and then
 * returned through by the parent; the trampoline calls the resolver,
 * restores every argument register and jumps to the real function with the
 * caller's own return address on top. x86-64 only (VS_SHIM_VFORK_TRAMPOLINE
 * in shim.h): elsewhere exec.c resolves at start, as before. */
#include "shim.h"

#include <errno.h>
#include <sys/types.h>
#include <unistd.h>

#ifdef VS_SHIM_VFORK_TRAMPOLINE

/* The real function, or a stand-in that fails like a missing one. */
static long unresolved(void)
{
    errno = ENOSYS;
    return -1;
}

/* Called by the trampolines (hidden: a direct call, no PLT). */
void *vs_fork_prepare_vfork(void);
void *vs_fork_prepare_clone(void);

void *vs_fork_prepare_vfork(void)
{
    vs_exec_resolve();
    void *fn = REAL(void *, vfork);
    return fn != NULL ? fn : (void *)unresolved;
}

void *vs_fork_prepare_clone(void)
{
    vs_exec_resolve();
    void *fn = REAL(void *, clone);
    return fn != NULL ? fn : (void *)unresolved;
}

/* x86-64 System V: clone's arguments are in rdi, rsi, rdx, rcx, r8, r9
 * (and ctid on the stack, untouched); al may carry the vector-register
 * count of a variadic call. Entry: rsp = 8 mod 16. */
__asm__(".text\n"
        ".globl vfork\n"
        ".type vfork, @function\n"
        "vfork:\n"
        "    .cfi_startproc\n"
        "    endbr64\n"
        "    subq $8, %rsp\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    call vs_fork_prepare_vfork\n"
        "    addq $8, %rsp\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    jmp *%rax\n"
        "    .cfi_endproc\n"
        ".size vfork, .-vfork\n"
        ".globl clone\n"
        ".type clone, @function\n"
        "clone:\n"
        "    .cfi_startproc\n"
        "    endbr64\n"
        "    pushq %rax\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    pushq %rdi\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    pushq %rsi\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    pushq %rdx\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    pushq %rcx\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    pushq %r8\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    pushq %r9\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    call vs_fork_prepare_clone\n"
        "    movq %rax, %r11\n"
        "    popq %r9\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    popq %r8\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    popq %rcx\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    popq %rdx\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    popq %rsi\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    popq %rdi\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    popq %rax\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    jmp *%r11\n"
        "    .cfi_endproc\n"
        ".size clone, .-clone\n");

/* _Fork (glibc 2.34) runs no fork handlers; the child has its own memory,
 * so a plain wrapper is right here. */
VS_EXPORT pid_t _Fork(void)
{
    vs_exec_resolve();
    pid_t (*real)(void) = REAL(pid_t (*)(void), _Fork);
    if (real == NULL) {
        errno = ENOSYS;
        return -1;
    }
    return real();
}

#endif
