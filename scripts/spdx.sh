#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Gives every source file of the project its one-line licence identifier (see LICENSE):
# `// SPDX-License-Identifier: MIT` in C++, `# SPDX-License-Identifier: MIT` in CMake, shell
# and Python, as the first line or right after a `#!` line. Idempotent: files that have it are
# left alone. tests/release checks the same rule independently.
#   scripts/spdx.sh           add the line where it is missing, print the files changed
#   scripts/spdx.sh --check   change nothing; list the files without it, exit 1 if any
#   scripts/spdx.sh --list    print the files the rule covers
# Covered: C++ (.cpp .cc .h .hpp), Python (.py), shell (.sh, and extension-less files starting
# with `#!`), CMake (CMakeLists.txt, .cmake) under src/ tests/ bench/ scripts/ cmake/ .ci/, and
# the top-level CMakeLists.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="${MPROTONET_SPDX_ROOT:-.}"   # another tree (tests/release runs the script on a scratch copy)
cd "$ROOT"

MODE=fix
case "${1:-}" in
  --check) MODE=check ;;
  --list) MODE=list ;;
  "") ;;
  *) echo "usage: scripts/spdx.sh [--check|--list]" >&2; exit 2 ;;
esac

TAG="SPDX-License-Identifier: MIT"

# One covered file per line, sorted; its comment prefix is decided by comment_prefix.
covered_files() {
  {
    [ -f CMakeLists.txt ] && echo CMakeLists.txt
    local dirs=()
    for d in src tests bench scripts cmake .ci; do [ -d "$d" ] && dirs+=("$d"); done
    [ ${#dirs[@]} -eq 0 ] && return 0
    find "${dirs[@]}" -name __pycache__ -prune -o -type f -print | while IFS= read -r f; do
      case "${f##*/}" in
        *.cpp | *.cc | *.h | *.hpp | *.py | *.sh | *.cmake | CMakeLists.txt) echo "$f" ;;
        *.*) ;;  # other extensions: data, documentation
        *) if [ "$(head -c 2 "$f")" = "#!" ]; then echo "$f"; fi ;;
      esac
    done
  } | sed 's|^\./||' | LC_ALL=C sort -u
}

comment_prefix() {
  case "$1" in
    *.cpp | *.cc | *.h | *.hpp) echo "//" ;;
    *) echo "#" ;;
  esac
}

# True when line 1, or line 2 after a `#!` line, is the identifier in the file's comment style.
has_tag() {
  local f=$1 want
  want="$(comment_prefix "$f") $TAG"
  local first second
  first=$(sed -n 1p "$f")
  second=$(sed -n 2p "$f")
  [ "$first" = "$want" ] && return 0
  [[ "$first" == "#!"* ]] && [ "$second" = "$want" ] && return 0
  return 1
}

add_tag() {
  local f=$1 line tmp
  line="$(comment_prefix "$f") $TAG"
  tmp="$f.tmp-spdx-$$"
  if [ "$(head -c 2 "$f")" = "#!" ]; then
    { sed -n 1p "$f"; echo "$line"; sed 1d "$f"; } > "$tmp"
  else
    { echo "$line"; cat "$f"; } > "$tmp"
  fi
  chmod --reference="$f" "$tmp"
  mv "$tmp" "$f"
}

status=0
while IFS= read -r f; do
  case "$MODE" in
    list) echo "$f" ;;
    check) if ! has_tag "$f"; then echo "missing SPDX line: $f"; status=1; fi ;;
    fix) if ! has_tag "$f"; then add_tag "$f"; echo "added: $f"; fi ;;
  esac
done < <(covered_files)
exit $status
