#!/usr/bin/env bash
# driftwatch credential helper for a Vault KV v2 store (see docs/credential-helpers.md).
#
#   get <key>    vault kv get -format=json -field=entry secret/driftwatch/<key>
#                (prints nothing when the secret does not exist: "not found")
#   store <key>  vault kv put secret/driftwatch/<key> entry=-   (entry on stdin)
#
# Needs: vault and jq on PATH, VAULT_ADDR and VAULT_TOKEN (or another auth
# method the vault CLI picks up) in the environment. Set DRIFTWATCH_VAULT_PATH
# to use another mount/prefix than secret/driftwatch. Never prints an entry
# except on stdout for `get`.
set -euo pipefail

usage() {
    echo "usage: vault-kv.sh get|store <provider>/<connection>" >&2
    exit 2
}

[[ $# -eq 2 ]] || usage
action=$1
key=$2
[[ -n $key ]] || usage

path="${DRIFTWATCH_VAULT_PATH:-secret/driftwatch}/$key"

case $action in
get)
    errfile=$(mktemp)
    trap 'rm -f -- "$errfile"' EXIT
    if out=$(vault kv get -format=json -field=entry "$path" 2>"$errfile"); then
        # With -format=json a string field comes back JSON-encoded ("{\"...");
        # unwrap it. An entry stored as an object is passed through as JSON.
        printf '%s' "$out" | jq -c 'if type == "string" then fromjson else . end'
        exit 0
    else
        status=$?
    fi
    # vault exits 2 both for "no such secret" and for real errors: tell them apart.
    if [[ $status -eq 2 ]] && grep -q '^No value found at' "$errfile"; then
        exit 0
    fi
    cat -- "$errfile" >&2
    exit "$status"
    ;;
store)
    # `entry=-` makes vault read the value from stdin, so it never shows up in
    # the process list.
    vault kv put "$path" entry=- >/dev/null
    ;;
*)
    usage
    ;;
esac
