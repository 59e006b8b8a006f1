#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Mutation check: applies each hand-chosen mutation of scripts/mutants.tsv to the source, one at
# a time, rebuilds only the test executables the entry names (ccache makes the rebuilds cheap),
# runs those tests (with the entry's GoogleTest filter) and reports whether the suite KILLED the
# mutant (a test failed) or it SURVIVED (every test passed). A mutation whose text is not found
# exactly once is STALE; one that does not compile is reported as NOBUILD (not a kill).
# The source is restored after each entry (and on exit, also when interrupted); at the end the
# touched targets are rebuilt from the restored source so ./build matches the checkout again.
#
# Not part of .ci/run (it rebuilds many times). Usage:
#   scripts/mutants.sh                 every entry
#   ONLY=loc_per_channel,push_axis scripts/mutants.sh
#   LIST=1 scripts/mutants.sh          list the catalogue
#   MPROTONET_BUILD_DIR=build (default), MPROTONET_JOBS=2, NO_RESTORE_BUILD=1 to skip the final rebuild.
# Exit status: 0 when every mutant run was killed, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
CATALOGUE="scripts/mutants.tsv"
BUILD_DIR="${MPROTONET_BUILD_DIR:-build}"
JOBS="${MPROTONET_JOBS:-2}"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}"
[ -f "$BUILD_DIR/CMakeCache.txt" ] || { echo "mutants: no $BUILD_DIR; run scripts/build.sh first" >&2; exit 2; }
# The heap setting ctest gives the test processes (CMakeLists.txt, MPROTONET_HEAP_TUNABLES).
TUNABLES="$(sed -n 's/^set(MPROTONET_HEAP_TUNABLES "\(.*\)")$/\1/p' CMakeLists.txt)"

if [ "${LIST:-0}" = 1 ]; then
  grep -v '^#' "$CATALOGUE" | awk -F'\t' 'NF == 6 { printf "%-24s %-48s %s\n", $1, $2, $6 }'
  exit 0
fi

SAVE="$(mktemp -d)"
CURRENT=""
restore() {
  # A plain copy (not cp -p): the restored file must be newer than the mutant's objects, or
  # ninja would keep them.
  if [ -n "$CURRENT" ] && [ -f "$SAVE/current" ]; then cp "$SAVE/current" "$CURRENT"; fi
  CURRENT=""
}
trap 'restore; rm -rf "$SAVE"' EXIT
trap 'echo "mutants: interrupted" >&2; exit 130' INT TERM

# Replaces the one occurrence of $2 by $3 in file $1 (literal text); status 3 when not exactly once.
apply_mutation() {
  /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import sys
path, old, new = sys.argv[1:4]
text = open(path, encoding="utf-8").read()
if text.count(old) != 1:
    sys.exit(3)
open(path, "w", encoding="utf-8").write(text.replace(old, new))
PY
}

REPORT="$BUILD_DIR/mutants-report.tsv"
printf 'id\tresult\tseconds\tfailed tests\n' > "$REPORT"
declare -A TOUCHED=()
killed=0 survived=0 other=0 total_start=$SECONDS
while IFS=$'\t' read -r id file old new tests what; do
  [ -z "$id" ] || [ "${id:0:1}" = "#" ] && continue
  if [ -n "${ONLY:-}" ] && [[ ",$ONLY," != *",$id,"* ]]; then continue; fi
  start=$SECONDS
  cp "$file" "$SAVE/current"
  CURRENT="$file"
  result="" failed=""
  if ! apply_mutation "$file" "$old" "$new"; then
    result="STALE"
  else
    targets=()
    for t in $tests; do targets+=("${t%%:*}"); TOUCHED["${t%%:*}"]=1; done
    if ! nice -n 5 cmake --build "$BUILD_DIR" -j "$JOBS" --target "${targets[@]}" > "$SAVE/build.log" 2>&1; then
      result="NOBUILD"
      tail -5 "$SAVE/build.log" >&2
    else
      result="SURVIVED"
      for t in $tests; do
        target="${t%%:*}" filter="*"
        [[ "$t" == *:* ]] && filter="${t#*:}"
        out="$(GLIBC_TUNABLES="$TUNABLES" "$BUILD_DIR/tests/$target" --gtest_filter="$filter" --gtest_color=no 2>&1)"
        if [ $? -ne 0 ]; then
          result="KILLED"
          failed+="$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([A-Za-z0-9_/]*\.[A-Za-z0-9_/]*\).*/\1/p' | sort -u | tr '\n' ' ')"
          [ -z "$failed" ] && failed="$target crashed "
          break  # one failing area is enough
        fi
      done
    fi
  fi
  restore
  case "$result" in KILLED) killed=$((killed + 1)) ;; SURVIVED) survived=$((survived + 1)) ;; *) other=$((other + 1)) ;; esac
  printf '%-24s %-8s %4ds  %s\n' "$id" "$result" $((SECONDS - start)) "${failed:-$what}"
  printf '%s\t%s\t%d\t%s\n' "$id" "$result" $((SECONDS - start)) "$failed" >> "$REPORT"
done < "$CATALOGUE"

echo "mutants: $killed killed, $survived survived, $other stale or not building; $((SECONDS - total_start)) s (report: $REPORT)"
if [ "${NO_RESTORE_BUILD:-0}" != 1 ] && [ ${#TOUCHED[@]} -gt 0 ]; then
  echo "mutants: rebuilding ${!TOUCHED[*]} from the restored source"
  nice -n 5 cmake --build "$BUILD_DIR" -j "$JOBS" --target "${!TOUCHED[@]}" > /dev/null 2>&1 || echo "mutants: the final rebuild failed" >&2
fi
[ "$survived" -eq 0 ] && [ "$other" -eq 0 ]
