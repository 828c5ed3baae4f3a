#!/usr/bin/env python3
"""The agent's own launcher: execs PROG with this process's environment plus
NAME=VALUE overrides through the raw execve system call, past the shim's
exec hooks (which would otherwise clean the child's environment), so the
injection reaches the tool and vaultd must refuse it itself.
usage: rawexec.py [NAME=VALUE...] -- PROG ARGS..."""
import ctypes, os, sys

cut = sys.argv.index("--")
env = dict(os.environ)
for kv in sys.argv[1:cut]:
    k, v = kv.split("=", 1)
    env[k] = v
argv = sys.argv[cut + 1:]


def array(items):
    a = (ctypes.c_char_p * (len(items) + 1))(*[x.encode() for x in items])
    a[len(items)] = None
    return a


sys.stdout.flush()
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall(59, argv[0].encode(), array(argv), array(["%s=%s" % kv for kv in env.items()]))
print("rawexec: execve failed, errno", ctypes.get_errno())
