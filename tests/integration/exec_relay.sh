#!/usr/bin/env bash
# vault-exec's I/O half through relay-probe (the relay and masker vault-exec
# uses) with real programs: python3 prints generated fake values in every
# encoding the masker knows, whole and split across writes, on pipes and on
# a pty; exit codes and signals pass; a 100 MB binary stream and stdin pass
# unchanged; on a pty the tool sees a terminal of the caller's size, resizes
# reach it, and the caller's terminal mode is restored.
# Checks grep for absence (grep -F -f of the forms) and never print a value.
. "$(dirname "$0")/../lib.sh"
vs_clean_env "$@"
vs_begin
RP="$VS_BUILD/tests/helpers/relay-probe"
PTY_RUN="$(cd "$(dirname "$0")/.." && pwd)/helpers/pty_run.py"
T=$VS_TMP
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

# Values: a plain token, and one with the characters every escaping scheme
# rewrites (so the URL and JSON forms differ from the raw one).
tok=$(fake_token gh)
special="$(fake_token sp)/+\"\\&=? é<>"
short=$(fake_token s | head -c 12)
printf '%s\n%s\n%s\n' "$tok" "$special" "$short" >"$T/values"

# emit.py VALUES STREAM CHECKS: prints every form of every value, each on a
# line between markers B<n>: and :A<n>, to stdout, stderr or both, and
# writes to CHECKS the part of each form that must not survive.
cat >"$T/emit.py" <<'PY'
import base64, json, re, sys, urllib.parse
vals = [l for l in open(sys.argv[1], 'rb').read().split(b'\n') if l]
where, checks = sys.argv[2], open(sys.argv[3], 'wb')
def lower_pct(s): return re.sub(rb'%[0-9A-F]{2}', lambda m: m.group(0).lower(), s)
n = 0
for v in vals:
    forms = [(v, v), (v.hex().encode(),) * 2, (v.hex().upper().encode(),) * 2]
    for enc in (base64.b64encode, base64.urlsafe_b64encode):
        forms += [(enc(v),) * 2, (enc(v).rstrip(b'='),) * 2]
        for lead in range(3):
            pre = b'\xfb' * (3 + lead)
            s = enc(pre + v + b'\xfe\xfe\xfe\xfe')
            forms.append((s, s[(8 * len(pre) + 5) // 6:(8 * (len(pre) + len(v))) // 6]))
    for q in (urllib.parse.quote(v, safe=b'').encode(), urllib.parse.quote(v, safe=b"!~*'()").encode()):
        forms += [(q, q), (lower_pct(q),) * 2]
    for ascii_ in (True, False):
        j = json.dumps(v.decode(), ensure_ascii=ascii_)[1:-1].encode('utf-8')
        forms += [(j, j), (j.replace(b'/', b'\\/'),) * 2]
    for shown, secret in forms:
        n += 1
        line = b'B%d:' % n + shown + b':A%d\n' % n
        if where in ('out', 'both'): sys.stdout.buffer.write(line)
        if where in ('err', 'both'): sys.stderr.buffer.write(line)
        checks.write(secret + b'\n')
print('forms', n, file=open(sys.argv[3] + '.n', 'w'))
PY

# no_form OUT CHECKS: no line of CHECKS occurs in OUT.
no_form() { ! grep -aqF -f "$2" "$1"; }
# all_markers OUT N: every B<i>: and :A<i> for i = 1..N is in OUT.
all_markers() {
    local i
    for ((i = 1; i <= $2; i++)); do
        grep -aq "B$i:" "$1" && grep -aq ":A$i" "$1" || { diag "marker $i missing"; return 1; }
    done
}
forms_n() { awk '{ print $2 }' "$T/checks.n"; }

# 1. every form on stdout and stderr (pipes), each stream masked apart
"$RP" --pipes --counts "$T/counts" "$T/values" -- python3 "$T/emit.py" "$T/values" both "$T/checks" \
    >"$T/out" 2>"$T/err"
rc=$?
check "pipes: the tool ran and exited 0" [ "$rc" = 0 ]
check "the python side printed the forms (sanity: unmasked they are there)" \
    bash -c 'python3 "$0" "$1" out "$2" | grep -aqF -f "$2"' "$T/emit.py" "$T/values" "$T/checks"
check "pipes: no form of any value on stdout" no_form "$T/out" "$T/checks"
check "pipes: no form of any value on stderr" no_form "$T/err" "$T/checks"
check "pipes: the text around every form survives on stdout" all_markers "$T/out" "$(forms_n)"
check "pipes: the text around every form survives on stderr" all_markers "$T/err" "$(forms_n)"
check "pipes: one mask per form line on each stream" \
    bash -c '[ "$(grep -ac "\*\*\*\*\*\*\*\*" "$0")" = "$2" ] && [ "$(grep -ac "\*\*\*\*\*\*\*\*" "$1")" = "$2" ]' \
    "$T/out" "$T/err" "$(forms_n)"
check "pipes: the masker counted them" grep -qx "masks_out $(forms_n)" "$T/counts"

# 2. the same on a pty (stdout and stderr both go through it)
python3 "$PTY_RUN" --transcript "$T/pty.out" -- "$RP" "$T/values" -- python3 "$T/emit.py" "$T/values" both \
    "$T/checks2" >/dev/null 2>&1
check "pty: the tool exited 0" [ $? = 0 ]
check "pty: no form of any value in what the terminal showed" no_form "$T/pty.out" "$T/checks"
check "pty: the text around every form survives" all_markers "$T/pty.out" "$(forms_n)"

# 3. a value split across writes: python writes the short value in two
# flushed pieces at every offset, with a pause between (shorter and longer
# than the relay's idle release); then byte by byte.
cat >"$T/split.py" <<'PY'
import sys, time
v = [l for l in open(sys.argv[1], 'rb').read().split(b'\n') if l][2]
pause = float(sys.argv[2])
out = sys.stdout.buffer
for k in range(1, len(v)):
    out.write(b'S%d:' % k + v[:k]); out.flush(); time.sleep(pause)
    out.write(v[k:] + b':E%d\n' % k); out.flush()
out.write(b'BYTES:')
for i in range(len(v)):
    out.write(v[i:i + 1]); out.flush(); time.sleep(pause)
out.write(b':END\n')
PY
printf '%s\n' "$short" >"$T/short_check"
for pause in 0.01 0.12; do
    for mode in --pipes ""; do
        label=${mode:+pipes}; label=${label:-pty}
        if [ -n "$mode" ]; then
            "$RP" --pipes "$T/values" -- python3 "$T/split.py" "$T/values" "$pause" >"$T/split.out" 2>&1
        else
            python3 "$PTY_RUN" --transcript "$T/split.out" -- "$RP" "$T/values" -- \
                python3 "$T/split.py" "$T/values" "$pause" >/dev/null 2>&1
        fi
        check "split ($label, ${pause}s between writes): the value never appears whole" no_form "$T/split.out" "$T/short_check"
        check "split ($label, ${pause}s between writes): a mask at every offset and byte by byte" \
            bash -c '[ "$(grep -ac "\*\*\*\*\*\*\*\*:E[0-9]" "$0")" = 11 ] && grep -aq "\*\*\*\*\*\*\*\*:END" "$0"' "$T/split.out"
    done
done

# a prompt on stderr ending like a value ("gh") is released after the idle
# time even while stdout keeps talking (each stream has its own clock): the
# tool itself looks at the relay's stderr file after 0.4 s of chatter.
cat >"$T/chatter.py" <<'PY'
import sys, time
sys.stderr.write('name? gh'); sys.stderr.flush()
t0 = time.time()
while time.time() - t0 < 0.4:
    sys.stdout.write('chatter\n'); sys.stdout.flush(); time.sleep(0.01)
print('SEEN' if open(sys.argv[1], 'rb').read().endswith(b'name? gh') else 'NOT-SEEN')
PY
"$RP" --pipes "$T/values" -- python3 "$T/chatter.py" "$T/chatter.err" >"$T/chatter.out" 2>"$T/chatter.err"
check "pipes: a held prompt on stderr is released while stdout keeps writing" grep -qx SEEN "$T/chatter.out"

# 4. exit status like a shell's
for code in 0 1 42; do
    "$RP" --pipes "$T/values" -- sh -c "exit $code" >/dev/null 2>&1
    check "exit code $code preserved" [ $? = "$code" ]
done
"$RP" --pipes "$T/values" -- sh -c 'kill -KILL $$' >/dev/null 2>&1
check "a tool killed by SIGKILL: 137" [ $? = 137 ]
"$RP" --pipes "$T/values" -- sh -c 'kill -SEGV $$' >/dev/null 2>&1
check "a tool killed by SIGSEGV: 139" [ $? = 139 ]
"$RP" --pipes "$T/values" -- /nonexistent/tool >/dev/null 2>&1
check "a tool that cannot be run: 127" [ $? = 127 ]

# 5. signals sent to the relay reach the tool (it traps them, writes a
# marker and exits 7); the relay starts with default dispositions (a
# background job of a script inherits SIGINT ignored).
cat >"$T/sigtool.py" <<'PY'
import os, signal, sys, time
marker, ready = sys.argv[1], sys.argv[2]
def got(n, f):
    open(marker, 'w').write('got %d\n' % n); sys.exit(7)
for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
    signal.signal(s, got)
open(ready, 'w').close()
for _ in range(200): time.sleep(0.05)
sys.exit(0)
PY
for sig in INT TERM HUP QUIT USR1 USR2; do
    rm -f "$T/marker" "$T/ready"
    env --default-signal=INT,TERM,HUP,QUIT,USR1,USR2 "$RP" --pipes "$T/values" -- python3 "$T/sigtool.py" "$T/marker" "$T/ready" \
        >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do [ -f "$T/ready" ] && break; sleep 0.05; done
    kill -"$sig" "$pid"
    wait "$pid"
    rc=$?
    num=$(kill -l "$sig")
    check "SIG$sig sent to the relay reaches the tool (status 7, marker)" \
        bash -c '[ "$0" = 7 ] && grep -qx "got $1" "$2"' "$rc" "$num" "$T/marker"
done
env --default-signal=TERM "$RP" --pipes "$T/values" -- sleep 10 >/dev/null 2>&1 &
pid=$!
sleep 0.3
kill -TERM "$pid"
wait "$pid"
check "a tool that does not trap SIGTERM dies of it: 143" [ $? = 143 ]

# 6. 100 MB of random bytes through cat: identical
head -c 100M /dev/urandom >"$T/big"
"$RP" --pipes "$T/values" -- cat "$T/big" >"$T/big.out" 2>"$T/big.err"
check "100 MB binary stream: exit 0" [ $? = 0 ]
check "100 MB binary stream: identical (sha256)" \
    bash -c '[ "$(sha256sum <"$0" | cut -d" " -f1)" = "$(sha256sum <"$1" | cut -d" " -f1)" ]' "$T/big" "$T/big.out"
rm -f "$T/big" "$T/big.out"

# 7. stdin passes through on pipes (and a value the tool echoes is masked)
printf 'first line\n%s\nlast line\n' "$tok" | "$RP" --pipes "$T/values" -- cat >"$T/stdin.out"
check "stdin reaches the tool (pipes)" bash -c 'head -1 "$0" | grep -qx "first line" && tail -1 "$0" | grep -qx "last line"' \
    "$T/stdin.out"
check "a value read from stdin and echoed is masked" bash -c '! grep -qF -- "$1" "$0" && grep -qx "\*\*\*\*\*\*\*\*" "$0"' \
    "$T/stdin.out" "$tok"

# our reader goes away (| head): the tool gets SIGPIPE as without us, no hang
timeout 20 bash -c '"$0" --pipes "$1" -- yes "$2" | head -2 >"$3"; echo "${PIPESTATUS[0]}" >"$4"' \
    "$RP" "$T/values" "$tok" "$T/epipe.out" "$T/epipe.rc"
check "our reader gone: the tool dies of SIGPIPE (141), no hang" grep -qx 141 "$T/epipe.rc"
check "our reader gone: what it read was masked" bash -c '[ "$(cat "$0")" = "$(printf "********\n********")" ]' \
    "$T/epipe.out"

# 8. pty: a terminal for the tool, of the caller's size; a resize reaches
# it; colours pass; a prompt is not held back; the caller's terminal mode
# is the same afterwards. ptydrive.py runs CMD on a fresh pty of 33x101,
# resizes it to 40x120 when READY shows, and keeps the transcript.
cat >"$T/ptydrive.py" <<'PY'
import fcntl, os, pty, select, struct, sys, termios, time
transcript, cmd = sys.argv[1], sys.argv[2:]
def size(fd, r, c): fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', r, c, 0, 0))
pid, fd = pty.fork()
if pid == 0:
    size(0, 33, 101)
    os.execvp(cmd[0], cmd)
shown, resized, deadline = b'', False, time.time() + 20
while time.time() < deadline:
    if not resized and b'READY' in shown:
        time.sleep(0.1); size(fd, 40, 120); resized = True
    r, _, _ = select.select([fd], [], [], 0.05)
    if r:
        try: data = os.read(fd, 4096)
        except OSError: data = b''
        if not data: break
        shown += data
_, st = os.waitpid(pid, 0)
open(transcript, 'wb').write(shown)
sys.exit(os.waitstatus_to_exitcode(st))
PY
cat >"$T/ttytool.sh" <<'SH'
trap 'echo "RESIZED $(stty size)"; exit 5' WINCH
test -t 0 && test -t 1 && test -t 2 && echo TTY-YES
echo "SIZE $(stty size)"
printf '\033[32mGREEN\033[0m\n'
echo READY
i=0; while [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
exit 9
SH
python3 "$T/ptydrive.py" "$T/tty.out" sh -c 'stty -g >"$1"; "$2" "$3" -- sh "$4"; echo "RC=$?"; stty -g >"$5"' \
    sh "$T/mode.before" "$RP" "$T/values" "$T/ttytool.sh" "$T/mode.after" >/dev/null 2>&1
check "pty: the tool sees a terminal on stdin, stdout and stderr" grep -aq "TTY-YES" "$T/tty.out"
check "pty: the tool's terminal has the caller's size (33 101)" grep -aq "SIZE 33 101" "$T/tty.out"
check "pty: a colour escape sequence passes unchanged" grep -aqF $'\033[32mGREEN\033[0m' "$T/tty.out"
check "pty: SIGWINCH: a resize of the caller's terminal reaches the tool (40 120)" grep -aq "RESIZED 40 120" "$T/tty.out"
check "pty: the tool's exit status (5, from its WINCH trap)" grep -aq "RC=5" "$T/tty.out"
check "pty: the caller's terminal mode is restored" \
    bash -c '[ -s "$0" ] && [ "$(cat "$0")" = "$(cat "$1")" ]' "$T/mode.before" "$T/mode.after"
python3 "$T/ptydrive.py" "$T/tty2.out" sh -c 'stty -g >"$1"; "$2" "$3" -- sh -c "kill -KILL \$\$"; echo "RC=$?"; stty -g >"$4"' \
    sh "$T/mode2.before" "$RP" "$T/values" "$T/mode2.after" >/dev/null 2>&1
check "pty: a tool killed by SIGKILL: 137, and the terminal mode restored" \
    bash -c 'grep -aq "RC=137" "$0" && [ -s "$1" ] && [ "$(cat "$1")" = "$(cat "$2")" ]' "$T/tty2.out" "$T/mode2.before" "$T/mode2.after"
printf 'world\n' >"$T/answer"
# The prompt ends in "gh", the start of a value: held, then released when
# the output goes quiet (otherwise pty_run.py never sees it and gives up).
python3 "$PTY_RUN" --transcript "$T/prompt.out" --expect 'name\? gh$' "$T/answer" -- "$RP" "$T/values" -- \
    sh -c 'printf "name? gh"; read x; echo "hello $x"' >/dev/null 2>&1
check "pty: a prompt ending like a value is shown when output goes quiet; stdin reaches the tool" \
    bash -c '[ "$0" = 0 ] && grep -aq "hello world" "$1"' "$?" "$T/prompt.out"

vs_end
