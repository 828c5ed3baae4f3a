#!/usr/bin/env bash
# Real tools through vault-exec against loopback stand-ins: gh (a Go
# binary) gets GH_TOKEN and talks to the GitHub stand-in; `gh auth token`,
# the oracle, prints only ******** (masking, the default); the aws CLI
# (python3 + /usr/bin/aws, a #! script named as the target) signs with the
# key file handed as AWS_SHARED_CREDENTIALS_FILE; run directly or under the
# shim, the same mediated tools get nothing.
. "$(dirname "$0")/../lib.sh"
vs_clean_env "$@"
vs_begin
[ -x "$VS_BUILD/vault-exec" ] || { echo "not ok 1 - no vault-exec in $VS_BUILD"; exit 1; }
vs_trusted_dir
chmod 711 "$VS_TMP"
V=$VAULTCTL
T=$VS_TRUSTED
X="$VS_BUILD/vault-exec"
SHIM="$VS_BUILD/libvaultshim.so"
TOOLS="$(cd "$(dirname "$0")/../helpers/tools" && pwd)"
PY=/usr/bin/python3
AH="$VS_TMP/agent-home"; mkdir -p "$AH"
export PYTHONNOUSERSITE=1 HOME="$AH" AWS_EC2_METADATA_DISABLED=true AWS_DEFAULT_REGION=us-east-1 AWS_PAGER= GH_NO_UPDATE_NOTIFIER=1 GH_PROMPT_DISABLED=1
# An ASan-built vault-exec aborts when the shim is preloaded ahead of the
# ASan runtime; the check is about link order, not about what is tested.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
for t in /usr/bin/gh /usr/bin/aws; do [ -x "$t" ] || { echo "not ok 1 - $t is not installed"; exit 1; }; done

"$V" init --keyfile >/dev/null
ghv=$(fake_token ghp); awsid="AKIA$(fake_token x | tail -c 16 | tr a-z A-Z)"; awssec=$(fake_token awssec)
printf '%s' "$ghv" | "$V" save gh_token >/dev/null
printf '%s' "$awsid" | "$V" save aws_key_id >/dev/null
printf '%s' "$awssec" | "$V" save aws_secret >/dev/null
cat >"$T/policy.conf" <<CONF
tools = (
  { name = "gh"; exe = "/usr/bin/gh"; env = { GH_TOKEN = "gh_token"; }; allow_proxy = true; mediate = true; },
  { name = "aws"; exe = "$PY"; script = "/usr/bin/aws"; files = [ "aws" ]; mediate = true; }
);
files = ( { name = "aws"; path = "$AH/.aws/credentials";
            template = "[default]\naws_access_key_id = {{aws_key_id}}\naws_secret_access_key = {{aws_secret}}\n"; } );
CONF
chmod 644 "$T/policy.conf"
check "vaultd starts" vs_start_vaultd "$T/policy.conf"

SRV="$VS_TMP/srv"; mkdir -p "$SRV"
start_server() { vs_start_server "$SRV" "$@"; }
printf '%s\n' "$ghv" >"$SRV/gh.expected"; : >"$SRV/gh.log"
printf '%s\n%s\n' "$awsid" "$awssec" >"$SRV/sts.expected"; : >"$SRV/sts.log"
check "the GitHub stand-in starts" start_server gh "$PY" "$TOOLS/tool_server.py" gh "$SRV/gh.expected" "$SRV/gh.log" 300
check "the STS stand-in starts" start_server sts "$PY" "$TOOLS/tool_server.py" sts "$SRV/sts.expected" "$SRV/sts.log" 300
GHP=$(head -1 "$SRV/gh.port"); SP=$(head -1 "$SRV/sts.port")
export GH_HOST=github.localhost
GHENV="HTTP_PROXY=http://127.0.0.1:$GHP"

check "gh api user through vault-exec sends the vaulted GH_TOKEN" env "$GHENV" bash -c '"$0" -- gh api user | grep -q "\"login\":\"vault-agent\"" &&
    tail -1 "$1" | grep -q "^gh match"' "$X" "$SRV/gh.log"
env "$GHENV" "$X" -- gh auth token --hostname github.localhost >"$VS_TMP/out" 2>"$VS_TMP/err"; rc=$?
check "gh auth token (the oracle) through vault-exec prints only ********" bash -c '[ "$0" = 0 ] && grep -qx "\*\*\*\*\*\*\*\*" "$1"' "$rc" "$VS_TMP/out"
check "no form of the token in its output" absent_in "$ghv" "$VS_TMP/out" "$VS_TMP/err"
check "gh run directly gets no token (the stand-in saw none)" env "$GHENV" bash -c '! gh api user >/dev/null 2>&1 && tail -1 "$0" | grep -q "^gh mismatch no credential"' "$SRV/gh.log"
check "gh under the shim is refused by vaultd (mediated), no token sent" env "$GHENV" bash -c '! LD_PRELOAD="$0" gh api user >/dev/null 2>"$1"; grep -q "mediated" "$1" &&
    ! grep -q "another credential" "$2"' "$SHIM" "$VS_TMP/err" "$SRV/gh.log"
check "gh from a shell under the shim is routed through vault-exec" env "$GHENV" bash -c 'LD_PRELOAD="$0" bash -c "gh api user" | grep -q "\"login\":\"vault-agent\""' "$SHIM"

check "aws sts get-caller-identity through vault-exec signs with the key file (AWS_SHARED_CREDENTIALS_FILE)" bash -c '
    "$0" -- aws sts get-caller-identity --endpoint-url "http://127.0.0.1:$1" | grep -q "\"Account\": \"123456789012\"" &&
    tail -1 "$2" | grep -q "^sts match"' "$X" "$SP" "$SRV/sts.log"
check "aws run directly finds no credentials" bash -c '! aws sts get-caller-identity --endpoint-url "http://127.0.0.1:$0" >/dev/null 2>&1' "$SP"
check "the STS stand-in never saw another key id" bash -c '! grep -q mismatch "$0"' "$SRV/sts.log"
check "no value in the audit log or the daemon's log" bash -c '. "$0"; for v in $1; do absent_in "$v" "$VAULT_HOME" "$2" || exit 1; done' \
    "$(dirname "$0")/../lib.sh" "$ghv $awsid $awssec" "$VS_TMP/vaultd.log"
vs_end
