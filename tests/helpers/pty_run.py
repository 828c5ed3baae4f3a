#!/usr/bin/env python3
"""Runs a command on a fresh pseudo-terminal (its controlling tty, so
/dev/tty works) and answers its prompts like a person at the keyboard.

usage: pty_run.py --transcript FILE [--expect REGEX ANSWER_FILE]... -- CMD ARGS...

Each --expect waits (5 s at most) for REGEX in what the terminal shows, then
types the first line of ANSWER_FILE and Enter. Answers come from files so no
secret is in this helper's argv. Everything the terminal showed goes to
FILE; exit status is the command's, or 124 when a prompt never came."""
import os, pty, re, select, sys, time

def main():
    args = sys.argv[1:]
    transcript, expects = None, []
    while args and args[0] != "--":
        if args[0] == "--transcript":
            transcript = args[1]; args = args[2:]
        elif args[0] == "--expect":
            with open(args[2], "rb") as f:
                answer = f.read().split(b"\n")[0]
            expects.append((re.compile(args[1].encode()), answer)); args = args[3:]
        else:
            sys.exit("pty_run.py: unknown option " + args[0])
    cmd = args[1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    shown, seen_upto, deadline = b"", 0, time.time() + 30
    status = None
    while time.time() < deadline:
        if expects:
            m = expects[0][0].search(shown, seen_upto)
            if m:
                os.write(fd, expects[0][1] + b"\n")
                seen_upto = m.end()
                expects.pop(0)
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                data = b""
            if not data:
                break
            shown += data
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            try:
                while True:
                    r, _, _ = select.select([fd], [], [], 0.05)
                    if not r: break
                    data = os.read(fd, 4096)
                    if not data: break
                    shown += data
            except OSError:
                pass
            break
    if status is None:
        try:
            _, status = os.waitpid(pid, 0) if not expects else (os.kill(pid, 9), os.waitpid(pid, 0))[1]
        except ChildProcessError:
            status = 0
    with open(transcript, "wb") as f:
        f.write(shown)
    if expects:
        sys.exit(124)
    sys.exit(os.waitstatus_to_exitcode(status) if isinstance(status, int) else 1)

main()
