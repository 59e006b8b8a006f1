#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Data-parallel training on one machine: seconds per joint epoch of 2 processes x 1 thread each
# (torchrun, Gloo over the loopback interface) beside 1 process x 2 threads, in the same run, on
# the same synthetic cohort, global batch and model. Prints a table; --json OUT writes the figures.
# Usage: bench/bench_distributed.sh [--cases N] [--epochs E] [--model CNN3D|MProtoNet3D_pmK] [--json OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
M="${MPROTONET:-build/mprotonet}"
cases=24 epochs=4 model=CNN3D json=""
while [ $# -gt 0 ]; do
  case "$1" in
    --cases) cases="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --json) json="$2"; shift 2 ;;
    *) echo "bench_distributed: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$M" ] || { echo "bench_distributed: build the CLI first ($M)" >&2; exit 2; }
W="$(mktemp -d)"
trap 'rm -rf "$W"' EXIT
# torchrun's store listens on every interface: where allowed, run it in a namespace of its own
# that holds only the loopback interface.
private=()
if unshare -n true 2>/dev/null; then private=(unshare -n sh -c 'ip link set lo up && exec "$0" "$@"'); fi
"$M" synth --out "$W/data" --cases "$cases" --hgg-fraction 0.5 --shape 96,96,64 --spacing 2 >/dev/null
common=(train --data "$W/data" --cache "$W/cache" --features resnet18_ri --n-layers 5 --spacing 3 --batch-size 8
        --folds 2 --fold 0 --model-name "$model" --epochs "$epochs" --push-interval 0 --last-layer-epochs 1 --augment fl0 --quiet)
# The first run fills the preprocessing cache (its wall time includes it; s/epoch does not).
start=$(date +%s.%N)
"$M" "${common[@]}" --threads 2 --out "$W/one" >/dev/null
mid=$(date +%s.%N)
"${private[@]}" /usr/bin/python3 -m torch.distributed.run --standalone --nproc_per_node 2 --redirects 1 --tee 1 --no_python \
  "$M" "${common[@]}" --threads 1 --out "$W/two" >/dev/null 2>"$W/torchrun.log" || { cat "$W/torchrun.log" >&2; exit 1; }
end=$(date +%s.%N)
/usr/bin/python3 - "$W" "$start" "$mid" "$end" "$json" "$model" "$cases" <<'PY'
import json, statistics, sys
w, start, mid, end, out, model, cases = sys.argv[1:]
def per_epoch(run):
    steps = [json.loads(l) for l in open(f"{w}/{run}/fold_0/epochs.jsonl")]
    joint = [s["seconds"] for s in steps if s["stage"] == "joint"]
    return statistics.mean(joint[1:] if len(joint) > 1 else joint), len(joint)
one, n = per_epoch("one")
two, _ = per_epoch("two")
rows = {"1 process x 2 threads": {"s_per_epoch": one, "wall_s": float(mid) - float(start)},
        "2 processes x 1 thread (torchrun, Gloo)": {"s_per_epoch": two, "wall_s": float(end) - float(mid)}}
print(f"{model}, {cases} cases (half training, fold 0 of 2), 64x64x48 at 3 mm, global batch 8, {n} joint epochs "
      f"(mean of epochs 2..{n})")
print(f"{'configuration':42s} {'s/epoch':>8s} {'wall s':>8s}")
for k, v in rows.items():
    print(f"{k:42s} {v['s_per_epoch']:8.2f} {v['wall_s']:8.1f}")
print(f"ratio (2 processes / 1 process): {two / one:.2f}")
if out:
    json.dump({"model": model, "cases": cases, "rows": rows, "ratio": two / one}, open(out, "w"), indent=2)
PY
