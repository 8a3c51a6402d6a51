#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time on its committed corpus.
#   fuzz/run.sh [SECS]          (default 20 s per target)
#   FUZZ_TARGETS="vrrp_decode config_parse" fuzz/run.sh 60   (a subset)
#
# For each target: replay fuzz/corpus/<t>/ and fuzz/regressions/<t>/ once
# (-runs=0, a regression check), then fuzz for SECS seconds with an EMPTY
# scratch directory first (libFuzzer writes new inputs into the first corpus
# dir; the committed seeds stay untouched). Prints the executions per target;
# exits non-zero if any target crashed, printing the artifact path and how to
# reproduce it. Stable toolchain: RUSTC_BOOTSTRAP=1 + the default (address)
# sanitizer (shared reference/toolchain-facts.md §1). Build output goes to
# fuzz/target (not the workspace target dir, so no fight over its lock).
set -uo pipefail
SECS=${1:-20}
cd "$(dirname "$0")"
FUZZ_DIR=$(pwd)
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz missing: installing (cargo install --locked cargo-fuzz)"
  cargo install --locked cargo-fuzz || exit 2
fi

echo "building all fuzz targets (address sanitizer, debug assertions)"
if ! cargo fuzz build; then
  echo "FAIL: cargo fuzz build" >&2
  exit 2
fi

TRIPLE=$(rustc -vV | sed -n 's/^host: //p')
BIN_DIR="$FUZZ_DIR/target/$TRIPLE/release"
TARGETS=${FUZZ_TARGETS:-$(cargo fuzz list)}
if [[ -z ${TARGETS//[[:space:]]/} ]]; then
  echo "FAIL: no fuzz targets found (cargo fuzz list)" >&2
  exit 2
fi
SCRATCH="$FUZZ_DIR/scratch"
LOGS="$FUZZ_DIR/scratch/logs"
mkdir -p "$LOGS"

failed=()
printf '\n%-16s %8s %12s %10s  %s\n' target seeds execs exec/s result
for t in $TARGETS; do
  bin="$BIN_DIR/$t"
  if [[ ! -x $bin ]]; then
    printf '%-16s %8s %12s %10s  %s\n' "$t" - - - "MISSING binary $bin"
    failed+=("$t")
    continue
  fi
  corpus="$FUZZ_DIR/corpus/$t"
  regress="$FUZZ_DIR/regressions/$t"
  arts="$FUZZ_DIR/artifacts/$t"
  mkdir -p "$corpus" "$arts"
  dirs=("$corpus")
  [[ -d $regress ]] && dirs+=("$regress")
  opts=(-artifact_prefix="$arts/" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
  [[ -f $FUZZ_DIR/dict/$t.dict ]] && opts+=(-dict="$FUZZ_DIR/dict/$t.dict")
  nseeds=$(find "${dirs[@]}" -type f | wc -l)

  # 1. Replay the committed seeds and regressions.
  "$bin" "${opts[@]}" -runs=0 "${dirs[@]}" >"$LOGS/$t.replay.log" 2>&1
  rc=$?
  if [[ $rc != 0 ]]; then
    printf '%-16s %8s %12s %10s  %s\n' "$t" "$nseeds" - - "CRASH on replay (rc $rc)"
    grep -E 'panicked|ERROR: |SUMMARY|Test unit written to' "$LOGS/$t.replay.log" | head -8 | sed 's/^/    /'
    failed+=("$t")
    continue
  fi

  # 2. Fuzz for SECS seconds; new inputs go to an empty scratch dir.
  work="$SCRATCH/$t"
  rm -rf "$work" && mkdir -p "$work"
  "$bin" "${opts[@]}" -max_total_time="$SECS" "$work" "${dirs[@]}" >"$LOGS/$t.fuzz.log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOGS/$t.fuzz.log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$LOGS/$t.fuzz.log" | tail -1)
  if [[ $rc == 0 ]]; then
    printf '%-16s %8s %12s %10s  %s\n' "$t" "$nseeds" "${execs:-?}" "${rate:-?}" ok
  else
    printf '%-16s %8s %12s %10s  %s\n' "$t" "$nseeds" "${execs:-?}" "${rate:-?}" "CRASH (rc $rc)"
    grep -E 'panicked|ERROR: |SUMMARY' "$LOGS/$t.fuzz.log" | head -6 | sed 's/^/    /'
    art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$LOGS/$t.fuzz.log" | tail -1)
    if [[ -n $art ]]; then
      echo "    artifact: $art"
      echo "    reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run $t $art   (in fuzz/)"
      echo "    base64: $(head -c 4096 "$art" | base64 -w0)"
    fi
    failed+=("$t")
  fi
done
echo "logs: $LOGS"
if ((${#failed[@]})); then
  echo "FAIL: fuzz targets with findings: ${failed[*]}" >&2
  exit 1
fi
echo "all fuzz targets clean (${SECS} s each)"
