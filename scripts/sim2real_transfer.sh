#!/bin/sh
# SPDX-License-Identifier: MIT
# Sim-to-real check: train the main job's MProtoNet C on the synthetic cohort only, then
# explain a real BraTS-space case and score the explanation against its segmentation.
#
#   scripts/sim2real_transfer.sh [WORK_DIR] [REAL_CASE] [FOLDS]
#
# WORK_DIR (default sim2real-run) receives the cohort, the cache, the run, the maps and
# transfer.json; REAL_CASE defaults to tests/data/brats/TCGA-DU-7294 (TCGA-LGG, low grade).
# The settings are the main job's (`mprotonet demo`): 80 cases (60 % HGG) generated at 2 mm,
# 4 mm input, resnet18_ri with n_layers 5, batch 2, precision auto (MPROTONET_SIM2REAL_PRECISION
# overrides), 16 epochs, one push after the last,
# 5 last-layer epochs, BatchNorm recalibration, 3 folds; FOLDS (default 0) says which folds to
# train ("all" trains the three). Each trained fold's model explains the real case.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLI=${MPROTONET_CLI:-$ROOT/build/mprotonet}
WORK=${1:-sim2real-run}
REAL=${2:-$ROOT/tests/data/brats/TCGA-DU-7294}
FOLDS=${3:-0}
mkdir -p "$WORK"

# MPROTONET_SIM2REAL_SYNTH_ARGS adds generator options (for example --ageing).
# shellcheck disable=SC2086
"$CLI" synth --out "$WORK/data" --cases 80 --hgg-fraction 0.6 --shape 120,120,78 --spacing 2 --seed 0 ${MPROTONET_SIM2REAL_SYNTH_ARGS:-}
if [ "$FOLDS" = all ]; then FOLD_ARGS=""; FOLD_LIST="0 1 2"; else FOLD_ARGS="--fold $FOLDS"; FOLD_LIST=$FOLDS; fi
# shellcheck disable=SC2086
"$CLI" train --data "$WORK/data" --out "$WORK/run" --cache "$WORK/cache" --model-name MProtoNet3D_pm5 \
    --folds 3 $FOLD_ARGS --features resnet18_ri --n-layers 5 --spacing 4 --epochs 16 --batch-size 2 \
    --precision ${MPROTONET_SIM2REAL_PRECISION:-auto} --augment fl0 --recalibrate-bn --push-interval 0 --last-layer-epochs 5 --seed 0 --resume --quiet

SEG=$(ls "$REAL"/*_seg.nii* | head -n 1)
for K in $FOLD_LIST; do
  OUT="$WORK/real_fold_$K"
  mkdir -p "$OUT"
  "$CLI" predict --model "$WORK/run/fold_$K/model.mpn" --case "$REAL" --json "$OUT/predict.json" \
      --maps "$OUT/maps" --methods mprotonet,gradcam
  for M in mprotonet gradcam; do
    "$CLI" localization --maps "$OUT/maps/$M.nii.gz" --seg "$SEG" --json "$OUT/localization_$M.json"
  done
  echo "fold $K: $(cat "$OUT/predict.json" | tr -d '\n ' | cut -c1-200)"
  for M in mprotonet gradcam; do echo "  $M: $(tr -d '\n ' < "$OUT/localization_$M.json")"; done
done
