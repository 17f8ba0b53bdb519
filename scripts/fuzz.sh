#!/usr/bin/env bash
# Builds and runs the cargo-fuzz targets in fuzz/, one at a time, at the lowest CPU priority.
#
#   scripts/fuzz.sh                  every target for FUZZ_SECONDS (default 600) each
#   scripts/fuzz.sh headers suite    only these targets
#   scripts/fuzz.sh --seeds          replay the committed seed corpus once (a quick regression check)
#   scripts/fuzz.sh --list           the target names
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`).
# New corpus entries land in fuzz/corpus/<target>/ (ignored by git except seed-*), crashes in
# fuzz/artifacts/<target>/, logs in fuzz/logs/<target>.log; a summary line per target is printed.
set -euo pipefail

cd "$(dirname "$0")/../fuzz"
TARGETS=(suite shape_infer shape_diff headers token_response run_json discovery)
SECONDS_PER_TARGET="${FUZZ_SECONDS:-600}"
mode=run
chosen=()
for arg in "$@"; do
  case "$arg" in
    --seeds) mode=seeds ;;
    --list) printf '%s\n' "${TARGETS[@]}"; exit 0 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    -*) echo "unknown option $arg" >&2; exit 2 ;;
    *) chosen+=("$arg") ;;
  esac
done
[ ${#chosen[@]} -eq 0 ] && chosen=("${TARGETS[@]}")

nice -n 19 cargo +nightly fuzz build -O
mkdir -p logs
status=0
for t in "${chosen[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  if [ "$mode" = seeds ]; then
    args=(-runs=0)
  else
    args=(-max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 -rss_limit_mb=2048 -timeout=10)
  fi
  # One process (libFuzzer's default, as -jobs=1), lowest priority: the machine is shared.
  if nice -n 19 cargo +nightly fuzz run -O "$t" "corpus/$t" -- "${args[@]}" >"logs/$t.log" 2>&1; then
    result=ok
  else
    result="FAILED (see fuzz/logs/$t.log and fuzz/artifacts/$t/)"
    status=1
  fi
  last=$(grep -E '^#[0-9]+' "logs/$t.log" | tail -n 1 || true)
  execs=$(grep -E '^stat::number_of_executed_units' "logs/$t.log" | awk '{print $2}' || true)
  echo "$t: $result; executions ${execs:-?}; last: ${last:-?}"
done
exit $status
