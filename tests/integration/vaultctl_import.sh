#!/usr/bin/env bash
# vaultctl import on a realistic home: the plan (no value printed), --apply
# (no form of any value left anywhere but the encrypted store; modes,
# owners, comments, CRLF and a missing final newline kept), the policy
# snippet loaded by a real vaultd, idempotency, --undo byte for byte, and
# failures mid-apply (a read-only folder, a full vault disk) that change
# nothing and say why in one line. Needs root for the mounts and chown.
. "$(dirname "$0")/../lib.sh"
vs_clean_env "$@"
vs_begin
V=$VAULTCTL
export HOME="$VS_TMP/user"
mkdir -p "$HOME/.aws" "$HOME/.config/gh" "$HOME/.docker" "$HOME/src/app/api" "$HOME/src/app/web/.git" \
    "$HOME/src/app/node_modules/x"
"$V" init --keyfile >/dev/null

npm=$(fake_token npm); net1=$(fake_token n1); net2=$(fake_token n2)
ak1=$(fake_token AKIA); sk1=$(fake_token sk)/x+y; ak2=$(fake_token AKIA); sk2=$(fake_token sk2); st2=$(fake_token st)
gho=$(fake_token gho); pypi=$(fake_token pypi); dock=$(printf 'bob:%s' "$(fake_token d)" | base64 -w0)
gitp=$(fake_token ghp); ghp=$(fake_token ghp); oai=$(fake_token sk); zsh=$(fake_token z)
dbp="p@ss $(fake_token w)"; stripe=$(fake_token sk_test); sub=$(fake_token sub); web=$(fake_token web)
gitdir=$(fake_token gd); nodem=$(fake_token nm)
values=("$npm" "$net1" "$net2" "$ak1" "$sk1" "$ak2" "$sk2" "$st2" "$gho" "$pypi" "$dock" "$gitp" "$ghp" "$oai"
        "$zsh" "$dbp" "$stripe" "$sub" "$web")

printf '# npm settings\nregistry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken=%s\nsave-exact=true\n' \
    "$npm" >"$HOME/.npmrc"
printf 'machine api.example.com\n  login bob\n  password %s\n\n# a comment\nmachine files.example.com login ann password %s\n' \
    "$net1" "$net2" >"$HOME/.netrc"
printf '# work accounts\r\n[default]\r\naws_access_key_id = %s\r\naws_secret_access_key = %s\r\n\r\n[prod]\r\nregion = eu-west-1\r\naws_access_key_id=%s\r\naws_secret_access_key=%s\r\naws_session_token=%s' \
    "$ak1" "$sk1" "$ak2" "$sk2" "$st2" >"$HOME/.aws/credentials"
printf 'github.com:\n    user: bob\n    oauth_token: %s\n    git_protocol: https\n' "$gho" >"$HOME/.config/gh/hosts.yml"
printf '[distutils]\nindex-servers = pypi\n\n[pypi]\nusername = __token__\npassword = %s\n' "$pypi" >"$HOME/.pypirc"
printf '{\n\t"auths": {\n\t\t"https://index.docker.io/v1/": {\n\t\t\t"auth": "%s"\n\t\t}\n\t},\n\t"credsStore": ""\n}\n' \
    "$dock" >"$HOME/.docker/config.json"
printf 'https://bob:%s@github.com\n' "$gitp" >"$HOME/.git-credentials"
printf '# ~/.bashrc\nexport PATH="$HOME/bin:$PATH"\nexport GH_TOKEN="%s"\nalias ll="ls -l"\n  export OPENAI_API_KEY=%s  # for the CLI\nexport EDITOR=vim\n' \
    "$ghp" "$oai" >"$HOME/.bashrc"
printf "export ZSH_SECRET='%s'" "$zsh" >"$HOME/.zshrc"
printf 'DB_HOST=localhost\nDB_PASSWORD="%s"\n# billing\nSTRIPE_SECRET_KEY=%s\nDEBUG=1\n' "$dbp" "$stripe" \
    >"$HOME/src/app/.env"
printf 'API_KEY=%s' "$sub" >"$HOME/src/app/api/.env.local"
printf 'WEB_TOKEN=%s\r\nPORT=8080\r\n' "$web" >"$HOME/src/app/web/.env"
printf 'GIT_TOKEN=%s\n' "$gitdir" >"$HOME/src/app/web/.git/.env"
printf 'NODE_TOKEN=%s\n' "$nodem" >"$HOME/src/app/node_modules/x/.env"
printf 'EXAMPLE_TOKEN=changeme\n' >"$HOME/src/app/.env.example"
chown 4321:4322 "$HOME/.npmrc"; chmod 640 "$HOME/.npmrc"; chmod 600 "$HOME/.aws/credentials" "$HOME/.netrc"

home_files() { find "$HOME" -type f ! -path '*/.git/*' ! -path '*/node_modules/*' | sort; }
snapshot() { home_files | xargs stat -c '%n %a %u %g' ; home_files | xargs sha256sum; }
vault_state() { sha256sum "$VAULT_HOME/store" "$VAULT_HOME/audit.log"; }
none_of_values_in() {
    local v
    for v in "${values[@]}"; do absent_in "$v" "$@" || return 1; done
}
before=$(snapshot)
vstate=$(vault_state)

cd "$HOME/src/app" || exit 1
run "$V" import
check "the plan exits 0" test "$(wc -l <"$VS_TMP/err")" = 0
check "the plan names every file, line and secret" bash -c '
    grep -q "^~/.npmrc (npmrc): 1 value" "$0" && grep -q "line 3: //registry.npmjs.org/:_authToken -> secret npm.registry.npmjs.org.token" "$0" &&
    grep -q "^~/.aws/credentials (aws credentials): 5 values" "$0" && grep -q "aws_session_token in \[prod\] -> secret aws.prod.session_token" "$0" &&
    grep -q "line 6: password for machine files.example.com -> secret netrc.files.example.com" "$0" &&
    grep -q "^~/.bashrc (shell profile): 2 values" "$0" && grep -q "^~/.zshrc (shell profile): 1 value" "$0" &&
    grep -q "^api/.env.local (.env): 1 value" "$0" && grep -q "^web/.env (.env): 1 value" "$0" &&
    grep -q "^~/.docker/config.json (docker config): 1 value" "$0" && grep -q "^~/.pypirc (pypirc): 1 value" "$0" &&
    grep -q "^~/.git-credentials (git credentials): 1 value" "$0" && grep -q "^~/.config/gh/hosts.yml (gh hosts): 1 value" "$0"' \
    "$VS_TMP/out"
check "the plan shows what the files become and the policy entries" bash -c '
    grep -qF "    | # STRIPE_SECRET_KEY moved to vaultshim (secret stripe_secret_key)" "$0" &&
    grep -qF "    | machine files.example.com login ann" "$0" && grep -q "after (CRLF line endings, no final newline)" "$0" &&
    grep -qF "template = \"# npm settings\nregistry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken={{npm.registry.npmjs.org.token}}" "$0" &&
    grep -q "nothing changed: run again with --apply" "$0"' "$VS_TMP/out"
check ".git, node_modules and .env.example are not looked at" bash -c '! grep -qE "GIT_TOKEN|NODE_TOKEN|EXAMPLE_TOKEN|^web/\.git|^node_modules|^\.env\.example" "$0"' "$VS_TMP/out"
check "the plan prints no form of any value" none_of_values_in "$VS_TMP/out" "$VS_TMP/err"
check "the plan changes nothing" test "$(snapshot)" = "$before" -a "$(vault_state)" = "$vstate"

# A failure mid-apply: a read-only folder (the last file kind staged) ...
export -f snapshot home_files vault_state
mount --bind "$HOME/.config/gh" "$HOME/.config/gh" && mount -o remount,bind,ro "$HOME/.config/gh" ||
    { not_ok "read-only bind mount (needs root)"; vs_end; exit 1; }
VS_CLEANUP_EXTRA="${VS_CLEANUP_EXTRA:+$VS_CLEANUP_EXTRA; }umount '$HOME/.config/gh' 2>/dev/null"
check "a read-only folder stops the run with one line naming the file" \
    err_is 1 "^vaultctl: import: cannot write beside ~/.config/gh/hosts.yml: Read-only file system; nothing was changed$" \
    "$V" import --apply
umount "$HOME/.config/gh"
check "... and nothing changed: files, temps, vault" bash -c '[ "$(snapshot)" = "$0" ] && [ "$(vault_state)" = "$1" ] &&
    ! find "$HOME" -name "*.vaultshim-import.*" | grep -q .' "$before" "$vstate"
# ... and a vault on a full disk.
mnt="$VS_TMP/small"; mkdir -p "$mnt"
mount -t tmpfs -o size=256k,mode=700 tmpfs "$mnt" || { not_ok "mount a small tmpfs"; vs_end; exit 1; }
VS_CLEANUP_EXTRA="${VS_CLEANUP_EXTRA:+$VS_CLEANUP_EXTRA; }umount '$mnt' 2>/dev/null"
cp -a "$VAULT_HOME" "$mnt/home"
main_home=$VAULT_HOME
export VAULT_HOME="$mnt/home"
small_state=$(vault_state)
mkdir "$mnt/fill"; n=0
while dd if=/dev/zero of="$mnt/fill/$n" bs=4k count=1 status=none 2>/dev/null; do n=$((n + 1)); done
check "a full vault disk stops the run with one line" \
    err_is 1 "^vaultctl: import: .*[Nn]o space left on device.*; nothing was changed$" "$V" import --apply
check "... and nothing changed: files, temps, vault" bash -c '[ "$(snapshot)" = "$0" ] && [ "$(vault_state)" = "$1" ] &&
    ! find "$HOME" -name "*.vaultshim-import.*" | grep -q . && ! ls "$VAULT_HOME" | grep -q import-policy' \
    "$before" "$small_state"
export VAULT_HOME=$main_home
umount "$mnt"

# The real run.
run "$V" import --apply
check "--apply imports 19 values from 12 files" grep -q "^imported 19 values from 12 files (run 1)" "$VS_TMP/out"
check "--apply prints no form of any value" none_of_values_in "$VS_TMP/out" "$VS_TMP/err"
check "no form of any value is left in the home or the vault folder (store included, it is sealed)" \
    none_of_values_in "$HOME" "$VAULT_HOME"
check "vaultctl scan (every form: base64 at 3 alignments, hex both cases, URL-encoded) finds none in the home or the vault folder" \
    "$V" scan "$HOME" "$VAULT_HOME"
check "no temp, backup or swap file is left" bash -c '! find "$0" "$1" \( -name "*~" -o -name "*.swp" -o -name "*.bak" \
    -o -name "*.vaultshim-import.*" -o -name "*.tmp*" \) | grep -q .' "$HOME" "$VAULT_HOME"
check "the untouched files (.git, node_modules) still hold theirs" bash -c '
    grep -qF "$0" "$2/src/app/web/.git/.env" && grep -qF "$1" "$2/src/app/node_modules/x/.env"' "$gitdir" "$nodem" "$HOME"
check "modes and owners are kept" bash -c '[ "$(stat -c "%a %u %g" "$0/.npmrc")" = "640 4321 4322" ] &&
    [ "$(stat -c %a "$0/.aws/credentials")" = 600 ] && [ "$(stat -c %a "$0/.netrc")" = 600 ]' "$HOME"
check "comments and other lines are kept; CRLF and the missing final newline too" bash -c '
    [ "$(cat "$0/.npmrc")" = "$(printf "# npm settings\nregistry=https://registry.npmjs.org/\nsave-exact=true")" ] &&
    [ "$(cat "$0/.aws/credentials")" = "$(printf "# work accounts\r\n[default]\r\n\r\n[prod]\r\nregion = eu-west-1")" ] &&
    [ "$(tail -c 1 "$0/.aws/credentials")" = 1 ] &&
    [ "$(cat "$0/.netrc")" = "$(printf "machine api.example.com\n  login bob\n\n# a comment\nmachine files.example.com login ann")" ]' "$HOME"
check "profile and .env lines become comments naming the secret" bash -c '
    grep -qx "# GH_TOKEN moved to vaultshim (secret gh_token)" "$0/.bashrc" &&
    grep -qx "  # OPENAI_API_KEY moved to vaultshim (secret openai_api_key)" "$0/.bashrc" &&
    grep -qx "alias ll=\"ls -l\"" "$0/.bashrc" && grep -qx "export EDITOR=vim" "$0/.bashrc" &&
    [ "$(cat "$0/.zshrc")" = "# ZSH_SECRET moved to vaultshim (secret zsh_secret)" ] &&
    [ "$(cat "$0/src/app/web/.env")" = "$(printf "# WEB_TOKEN moved to vaultshim (secret web_token)\r\nPORT=8080\r")" ] &&
    grep -qx "DB_HOST=localhost" "$0/src/app/.env" && grep -qx "# billing" "$0/src/app/.env"' "$HOME"
check "docker config.json stays valid JSON without the auth" python3 -c '
import json,sys; d=json.load(open(sys.argv[1])); assert d["auths"]=={"https://index.docker.io/v1/":{}} and d["credsStore"]==""' \
    "$HOME/.docker/config.json"
check "every value is in the vault under its name, exactly" bash -c '
    for pair in "npm.registry.npmjs.org.token $1" "aws.default.secret_access_key $2" "aws.prod.session_token $3" \
                "db_password $4" "docker.index.docker.io.auth $5" "git.github.com.bob $6" "api_key $7"; do
        set -- $pair; name=$1; shift; val="$*"
        [ "$("$0" "$VAULT_HOME" "$VAULT_HOME/vault.key" "$name")" = "$(printf "%s" "$val" | sha256sum | cut -d" " -f1)" ] || exit 1
    done' "$PROBE" "$npm" "$sk1" "$st2" "$dbp" "$dock" "$gitp" "$sub"
check "the policy snippet is 0600 and holds placeholders, no value" bash -c '
    f="$VAULT_HOME/import-policy-1.conf"; [ "$(stat -c %a "$f")" = 600 ] && grep -qF "{{aws.prod.session_token}}" "$f" &&
    grep -qF "env = { GH_TOKEN = \"gh_token\"; };" "$f" && grep -q "protect = \[ .*\"STRIPE_SECRET_KEY\"" "$f"'
check "the audit log has one import line, names only, and verifies" bash -c '
    "$0" audit --json | grep "\"event\":\"import\"" | grep -q "\"secrets\":\[\"npm.registry.npmjs.org.token\"" &&
    "$0" audit --verify >/dev/null' "$V"

# The snippet loads in a real vaultd; with a probe tool added to it, the
# shim serves the rewritten credential files to that tool with exactly the
# bytes they had before the import, and to anything else nothing.
vs_trusted_dir
chmod 711 "$VS_TMP"
cp "$VAULT_HOME/import-policy-1.conf" "$VS_TRUSTED/policy.conf"; chmod 644 "$VS_TRUSTED/policy.conf"
check "vaultd starts with the snippet alone as its policy" vs_start_vaultd "$VS_TRUSTED/policy.conf"
check "... and reports it loaded, with no error" bash -c '"$0" status --socket "$VAULT_SOCKET" | grep -qi "policy" &&
    ! grep -qiE "error|refused|invalid" "$1"' "$V" "$VS_TMP/vaultd.log"
kill "$VAULTD_PID" 2>/dev/null; wait "$VAULTD_PID" 2>/dev/null
export -n -f snapshot home_files vault_state # vaultd refuses tools with exported functions
export ASAN_OPTIONS=verify_asan_link_order=0 # an ASan-built probe under the (plain) shim
cp "$VS_BUILD/tests/helpers/shim-probe" "$VS_TRUSTED/probe"; chmod 755 "$VS_TRUSTED/probe"
sed "s|^tools = (\$|tools = (\n  { name = \"probe\"; exe = \"$VS_TRUSTED/probe\"; files = [ \"import_aws\", \"import_npmrc\", \"import_netrc\", \"import_docker\" ]; },|" \
    "$VAULT_HOME/import-policy-1.conf" >"$VS_TRUSTED/policy2.conf"; chmod 644 "$VS_TRUSTED/policy2.conf"
check "vaultd starts with the snippet and a probe tool" vs_start_vaultd "$VS_TRUSTED/policy2.conf" --shim "$VS_BUILD/libvaultshim.so"
served_as_before() {
    local f want size out
    for f in .aws/credentials .npmrc .netrc .docker/config.json; do
        want=$(grep " $HOME/$f\$" <<<"$before" | cut -d' ' -f1)
        out=$(LD_PRELOAD="$VS_BUILD/libvaultshim.so" VAULT_SOCKET="$VAULT_SOCKET" "$VS_TRUSTED/probe" "$HOME/$f" | grep "^open ")
        [[ $out == "open ok $want "* ]] || { diag "$f: served ${out:0:90}"; return 1; }
    done
}
check "the granted tool reads each rewritten file as it was, byte for byte" served_as_before
cp "$VS_BUILD/tests/helpers/shim-probe" "$VS_TMP/probe-copy"
check "any other process gets ENOENT for them" bash -c '
    out=$(LD_PRELOAD="$0" VAULT_SOCKET="$VAULT_SOCKET" "$1" "$2" | grep "^open ") && [ "$out" = "open ENOENT" ]' \
    "$VS_BUILD/libvaultshim.so" "$VS_TMP/probe-copy" "$HOME/.aws/credentials"
kill "$VAULTD_PID" 2>/dev/null; wait "$VAULTD_PID" 2>/dev/null

# Idempotent.
export -f snapshot home_files vault_state
after=$(snapshot); vstate=$(vault_state)
run "$V" import --apply
check "a second --apply finds nothing" grep -q "^nothing to import" "$VS_TMP/out"
check "... and changes nothing: files and vault" test "$(snapshot)" = "$after" -a "$(vault_state)" = "$vstate"
[ "$(vault_state)" = "$vstate" ] || diag "audit tail: $(tail -2 "$VAULT_HOME/audit.log" | cut -c1-200)"

# Undo.
run "$V" import --undo
check "--undo restores 12 files and removes the 19 secrets" grep -q "^undid import run 1: 12 files restored, 19 secrets removed" "$VS_TMP/out"
check "every file is back byte for byte, with its mode and owner" test "$(snapshot)" = "$before"
check "the vault holds no secret and no backup afterwards" bash -c '"$0" list | grep -q "^no secrets" &&
    [ ! -e "$VAULT_HOME/import-policy-1.conf" ]' "$V"
check "a second --undo says there is nothing to undo" err_is 1 "^vaultctl: import: no import to undo$" "$V" import --undo
# An undo refuses to overwrite a file changed since the import.
"$V" import --apply >/dev/null
echo "# edited later" >>"$HOME/.npmrc"; edited=$(snapshot); vstate=$(vault_state)
check "--undo refuses when a file changed since the import" \
    err_is 1 "^vaultctl: import: .*\.npmrc changed since the import .*; nothing was changed$" "$V" import --undo
check "... and changes nothing" test "$(snapshot)" = "$edited" -a "$(vault_state)" = "$vstate"
vs_end
