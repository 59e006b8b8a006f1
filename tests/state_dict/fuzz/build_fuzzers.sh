#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the two libFuzzer targets for the checkpoint reader with clang, ASan and UBSan, into
# ${OUT:-build-fuzz}/ (relative to the checkout), and makes seed corpora from PyTorch-written files.
# Run afterwards, e.g. for 10 minutes each:
#   build-fuzz/fuzz_state_dict -max_total_time=600 -rss_limit_mb=4096 build-fuzz/corpus_file
#   build-fuzz/fuzz_pickle     -max_total_time=600 -rss_limit_mb=4096 build-fuzz/corpus_pickle
set -euo pipefail
cd "$(dirname "$0")/../../.."
OUT="${OUT:-build-fuzz}"
mkdir -p "$OUT/obj" "$OUT/corpus_file" "$OUT/corpus_pickle"
FLAGS=(-std=c++17 -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
       -D_GLIBCXX_USE_CXX11_ABI=1 -Isrc -isystem /usr/include/torch/csrc/api/include)
SOURCES=(src/mprotonet/core/error.cpp src/mprotonet/core/fs.cpp src/mprotonet/io/zip_archive.cpp
         src/mprotonet/io/pickle_reader.cpp src/mprotonet/io/state_dict.cpp)
OBJS=()
for s in "${SOURCES[@]}"; do
  o="$OUT/obj/$(basename "${s%.cpp}").o"
  clang++ "${FLAGS[@]}" -c "$s" -o "$o"
  OBJS+=("$o")
done
LIBS=(-ltorch -ltorch_cpu -lc10 -lz)
H=tests/state_dict/fuzz/fuzz_state_dict.cpp
clang++ "${FLAGS[@]}" -fsanitize=fuzzer "$H" "${OBJS[@]}" "${LIBS[@]}" -o "$OUT/fuzz_state_dict"
clang++ "${FLAGS[@]}" -fsanitize=fuzzer -DFUZZ_PICKLE "$H" "${OBJS[@]}" "${LIBS[@]}" -o "$OUT/fuzz_pickle"
# Seeds: PyTorch's own files (and their data.pkl records) plus the hostile corpus.
tmp="$(mktemp -d)"
/usr/bin/python3 tests/helpers/state_dict_oracle.py fixtures "$tmp"
/usr/bin/python3 tests/helpers/state_dict_oracle.py hostile "$tmp"
rm -f "$tmp"/*.json "$tmp"/deep_stack.pt
cp "$tmp"/*.pt "$OUT/corpus_file/"
/usr/bin/python3 - "$tmp" "$OUT/corpus_pickle" <<'PY'
import os, sys, zipfile
src, dst = sys.argv[1:]
for name in os.listdir(src):
    try:
        with zipfile.ZipFile(os.path.join(src, name)) as z:
            for i in z.infolist():
                if i.filename.endswith("data.pkl"):
                    open(os.path.join(dst, name + ".pkl"), "wb").write(z.read(i))
    except Exception:
        pass
PY
rm -rf "$tmp"
echo "built $OUT/fuzz_state_dict and $OUT/fuzz_pickle"
