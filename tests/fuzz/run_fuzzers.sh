#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds and runs the libFuzzer targets (clang from Debian, with ASan + UBSan):
#   fuzz_nifti       — read_nifti_header + read_nifti on arbitrary bytes (this folder)
#   fuzz_state_dict  — read_state_dict + read_tensor_file on arbitrary bytes (tests/state_dict/fuzz)
# Seeds: small real NIfTI files (../shared/data/nifti, tests/data/nifti), tiny nibabel-written
# files of every datatype, the hostile corpus tests/data/bad and the kept regressions
# tests/fuzz/regressions/<target>/; for the checkpoint reader also PyTorch-written files.
# Both targets run at the same time, one core each, at nice 10.
#
# Usage: tests/fuzz/run_fuzzers.sh [SECONDS]      (default 600 per target)
#   OUT=build-fuzz (build and corpus folder), SKIP_BUILD=1 to reuse the binaries,
#   ONLY=nifti or ONLY=state_dict to build and run one target.
# A crash leaves its input as $OUT/artifacts/<target>/crash-*; copy it to
# tests/fuzz/regressions/<target>/ after fixing, so test_robustness replays it.
# Summary (executions, coverage) is printed at the end, from $OUT/<target>.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
SECONDS_PER_TARGET="${1:-600}"
OUT="${OUT:-build-fuzz}"
export OUT
SHARED="${MPROTONET_SHARED_DATA:-$ROOT/../shared/data}"
[ -d "$SHARED" ] || SHARED=/work/shared/data

ONLY="${ONLY:-}"
want() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }
if [ "${SKIP_BUILD:-0}" != 1 ] && want state_dict; then
  tests/state_dict/fuzz/build_fuzzers.sh
fi
if [ "${SKIP_BUILD:-0}" != 1 ] && want nifti; then
  mkdir -p "$OUT/obj_nifti"
  FLAGS=(-std=c++17 -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
         -Isrc -isystem /usr/include/nifti)
  OBJS=()
  for s in src/mprotonet/core/error.cpp src/mprotonet/core/fs.cpp src/mprotonet/io/volume.cpp src/mprotonet/io/nifti.cpp; do
    o="$OUT/obj_nifti/$(basename "${s%.cpp}").o"
    clang++ "${FLAGS[@]}" -c "$s" -o "$o"
    OBJS+=("$o")
  done
  clang++ "${FLAGS[@]}" -fsanitize=fuzzer tests/fuzz/targets/fuzz_nifti.cpp "${OBJS[@]}" -lnifti2 -lznz -lz -lm \
      -o "$OUT/fuzz_nifti"
fi

# --- seed corpora --------------------------------------------------------------------------
mkdir -p "$OUT/corpus_nifti" "$OUT/corpus_file" "$OUT/artifacts/nifti" "$OUT/artifacts/state_dict"
if [ ! -f tests/data/bad/MANIFEST.tsv ] || [ ! -d tests/data/bad/nifti ]; then
  /usr/bin/python3 tests/data/bad/make_bad_corpus.py
fi
# Small real files only (the fuzzer mutates the first max_len bytes; big files slow it down).
find "$SHARED/nifti" tests/data/nifti tests/data/bad/nifti tests/fuzz/regressions/nifti -type f \
     \( -name '*.nii' -o -name '*.nii.gz' -o -name '*.hdr' -o -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' \) \
     -size -40k 2>/dev/null | while read -r f; do
  cp "$f" "$OUT/corpus_nifti/$(echo "$f" | tr '/' '_')"
done
/usr/bin/python3 - "$OUT/corpus_nifti" <<'PY'
# Tiny files of every datatype nibabel writes, NIfTI-1 and NIfTI-2, with scaling and both forms:
# plain bytes the fuzzer can mutate field by field.
import sys, numpy as np, nibabel as nib
out = sys.argv[1]
rng = np.random.default_rng(0)
for i, dt in enumerate([np.uint8, np.int16, np.int32, np.float32, np.float64, np.int8, np.uint16, np.uint32, np.int64]):
    for cls in (nib.Nifti1Image, nib.Nifti2Image):
        a = (rng.random((3, 4, 2)) * 50).astype(dt)
        aff = np.diag([1.5, -2.0, 3.0, 1.0]); aff[:3, 3] = [10, -5, 2]
        img = cls(a, aff, dtype=dt)
        img.header.set_qform(aff, 1); img.header.set_sform(aff, 2)
        if dt == np.int16: img.header.set_slope_inter(2.0, 1.0)
        nib.save(img, f"{out}/tiny_{cls.__name__}_{np.dtype(dt).name}.nii")
PY
find tests/data/bad/checkpoints tests/fuzz/regressions/state_dict -type f 2>/dev/null | while read -r f; do
  cp "$f" "$OUT/corpus_file/$(echo "$f" | tr '/' '_')"
done

# --- run both at once ------------------------------------------------------------------------
run_one() {  # name binary corpus
  local name=$1 bin=$2 corpus=$3
  nice -n 10 "$bin" -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -max_len=16384 -timeout=20 \
      -print_final_stats=1 -artifact_prefix="$OUT/artifacts/$name/" "$corpus" >"$OUT/$name.log" 2>&1 || true
}
start=$(date +%s)
pids=()
if want nifti; then run_one nifti "$OUT/fuzz_nifti" "$OUT/corpus_nifti" & pids+=($!); fi
if want state_dict; then run_one state_dict "$OUT/fuzz_state_dict" "$OUT/corpus_file" & pids+=($!); fi
wait "${pids[@]}"
echo "fuzzed for $(( $(date +%s) - start )) s"
status=0
for name in nifti state_dict; do
  want "$name" || continue
  log="$OUT/$name.log"
  echo "== $name"
  grep -E '^#[0-9]+ +(DONE|INITED)' "$log" | tail -2 || true
  grep -E 'stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs' "$log" || true
  if ls "$OUT/artifacts/$name/" | grep -q .; then
    echo "FINDINGS in $OUT/artifacts/$name/:"; ls "$OUT/artifacts/$name/"; status=1
  fi
done
exit $status
