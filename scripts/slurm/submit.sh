#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Cross-validation as Slurm jobs: a job array with one task per fold (`mprotonet train --fold K`,
# each task data-parallel over its own srun tasks when given --ntasks > 1), then a job that starts
# when every fold has succeeded and runs `merge`, `evaluate` and `report` on the run folder.
#
# Usage: scripts/slurm/submit.sh --data DATA --out RUN [--folds K] [other `mprotonet train` options]
# Environment:
#   MPROTONET          the mprotonet binary (default: mprotonet on PATH, else build/mprotonet)
#   SBATCH_TRAIN       extra sbatch options of every fold task (e.g. "--ntasks 2 --cpus-per-task 8 --time 12:00:00")
#   SBATCH_FINISH      extra sbatch options of the final job (e.g. "--cpus-per-task 8")
#   EVALUATE_OPTIONS   extra `mprotonet evaluate` options (e.g. "--methods mprotonet,gradcam")
# Prints the two job ids. Logs: RUN/slurm/fold-K-<job>.log and RUN/slurm/finish-<job>.log.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="" out="" folds=5 fold_given=0
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --data) data="${args[i+1]:-}" ;;
    --out) out="${args[i+1]:-}" ;;
    --folds) folds="${args[i+1]:-}" ;;
    --fold) fold_given=1 ;;
  esac
done
[ -n "$data" ] || { echo "submit.sh: --data DATA is required" >&2; exit 2; }
[ -n "$out" ] || { echo "submit.sh: --out RUN is required" >&2; exit 2; }
[ "$fold_given" = 0 ] || { echo "submit.sh: --fold is set per array task; leave it out" >&2; exit 2; }
[[ "$folds" =~ ^[0-9]+$ ]] && [ "$folds" -ge 2 ] || { echo "submit.sh: --folds must be an integer >= 2, got '$folds'" >&2; exit 2; }
command -v sbatch >/dev/null || { echo "submit.sh: sbatch not found (is this a Slurm login node?)" >&2; exit 2; }
if [ -z "${MPROTONET:-}" ]; then
  if command -v mprotonet >/dev/null; then MPROTONET="$(command -v mprotonet)"; else MPROTONET="$here/../../build/mprotonet"; fi
fi
[ -x "$MPROTONET" ] || { echo "submit.sh: $MPROTONET is not an executable; set MPROTONET" >&2; exit 2; }
export MPROTONET
mkdir -p "$out/slurm"
# shellcheck disable=SC2086  # SBATCH_* are word lists on purpose
train_job=$(sbatch --parsable --job-name mprotonet-train --array "0-$((folds - 1))" \
  --output "$out/slurm/fold-%a-%A.log" ${SBATCH_TRAIN:-} "$here/train_fold.sbatch" "$@")
train_job="${train_job%%;*}"
# shellcheck disable=SC2086
finish_job=$(sbatch --parsable --job-name mprotonet-finish --dependency "afterok:$train_job" \
  --output "$out/slurm/finish-%j.log" ${SBATCH_FINISH:-} "$here/finish.sbatch" "$data" "$out")
echo "train array: $train_job (folds 0-$((folds - 1))), finish: ${finish_job%%;*}"
