#!/usr/bin/env bash
# driftwatch credential helper for GitHub Actions (see docs/credential-helpers.md).
#
#   get <key>    prints the entry from the environment variable named after the
#                key (acme/acme-corp -> DRIFTWATCH_CRED_ACME_ACME_CORP), which
#                the workflow maps from a repository secret; nothing if unset.
#   store <key>  reads the entry on stdin and writes it back to that repository
#                secret with `gh secret set`, so a rotated refresh token is never
#                lost. It also keeps a job-local copy under $RUNNER_TEMP, because
#                the environment variable keeps its old value for the rest of
#                the job and a second refresh must not reuse a spent token.
#
# Needs: gh, GITHUB_REPOSITORY (set by Actions) and GH_TOKEN with permission to
# write repository secrets (the default GITHUB_TOKEN cannot). Never prints an
# entry except on stdout for `get`.
set -euo pipefail

usage() {
    echo "usage: github-actions.sh get|store <provider>/<connection>" >&2
    exit 2
}

[[ $# -eq 2 ]] || usage
action=$1
key=$2
[[ -n $key ]] || usage

# Secret names allow only [A-Z0-9_]: upper-case the key, everything else -> _.
name="DRIFTWATCH_CRED_$(printf '%s' "$key" | tr '[:lower:]' '[:upper:]' | tr -c 'A-Z0-9' '_')"

cache_dir="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/driftwatch-credentials"
cache_file="$cache_dir/$name.json"

case $action in
get)
    if [[ -s $cache_file ]]; then
        cat -- "$cache_file"
    elif [[ -n ${!name:-} ]]; then
        printf '%s\n' "${!name}"
    fi
    # Printing nothing and exiting 0 tells driftwatch "not found".
    ;;
store)
    : "${GITHUB_REPOSITORY:?GITHUB_REPOSITORY is not set (run inside GitHub Actions or export owner/repo)}"
    umask 077
    mkdir -p -- "$cache_dir"
    tmp=$(mktemp "$cache_dir/.$name.XXXXXX")
    trap 'rm -f -- "$tmp"' EXIT
    cat >"$tmp"
    if [[ ! -s $tmp ]]; then
        echo "github-actions.sh: refusing to store an empty entry for $key" >&2
        exit 1
    fi
    mv -f -- "$tmp" "$cache_file"
    # The secret store is the only copy that outlives this job: retry briefly.
    for attempt in 1 2 3; do
        if gh secret set "$name" --repo "$GITHUB_REPOSITORY" <"$cache_file"; then
            exit 0
        fi
        echo "github-actions.sh: gh secret set $name failed (attempt $attempt of 3)" >&2
        sleep $((attempt * 2))
    done
    exit 1
    ;;
*)
    usage
    ;;
esac
