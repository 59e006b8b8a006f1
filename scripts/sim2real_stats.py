#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Simple statistics of synthetic cases next to a real case, after the tool's own preprocessing.

Usage: scripts/sim2real_stats.py CLI REAL_CASE COHORT [--cases N] [--grade G] [--spacing MM] [--json FILE]
  CLI        the mprotonet executable (its `preprocess --case` does the preprocessing)
  REAL_CASE  a BraTS-layout case folder with a segmentation (tests/data/brats/TCGA-DU-7294)
  COHORT     a synthetic cohort (mprotonet synth); its first N cases are used (default 20), only
             those of grade G (HGG or LGG: the real case's grade) with --grade

Every case goes through `mprotonet preprocess --case DIR --spacing MM` (default 4 mm, the main
job's input). Then, per modality, on the z-scored volumes:
  * brain: voxels that differ from the background (the z-scored zero of the skull-stripped
    scan, read at a corner voxel);
  * histogram distance: the 1-Wasserstein distance between the brain-intensity distributions of
    a synthetic case and of the real case (z units; 0 = identical distributions), median over
    the synthetic cases;
  * tumour-to-brain contrast: (mean over the whole tumour, labels 1, 2, 4, minus mean over the
    rest of the brain) / standard deviation over the rest of the brain; the real case's value
    and the synthetic cases' median [quartiles].
Prints a Markdown table (and writes the numbers as JSON with --json).
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile

import nibabel as nib
import numpy as np

MODALITIES = ("t1", "t1ce", "t2", "flair")


def preprocess(cli, case_dir, out_dir, spacing):
    subprocess.run([cli, "preprocess", "--case", case_dir, "--out", out_dir, "--spacing", str(spacing)],
                   check=True, stdout=subprocess.DEVNULL)
    vols = {m: np.asarray(nib.load(os.path.join(out_dir, m + ".nii.gz")).dataobj, dtype=np.float64) for m in MODALITIES}
    seg = np.asarray(nib.load(os.path.join(out_dir, "seg.nii.gz")).dataobj)
    return vols, seg


def case_stats(vols, seg):
    out = {}
    tumour = seg > 0
    for m in MODALITIES:
        v = vols[m]
        # The background is the z-scored 0 of the skull-stripped scan (a corner voxel); real
        # scans also have negative values inside the brain.
        brain = np.abs(v - v[0, 0, 0]) > 1e-4
        rest = brain & ~tumour
        values = np.sort(v[brain])
        contrast = (v[tumour & brain].mean() - v[rest].mean()) / v[rest].std() if (tumour & brain).any() else float("nan")
        out[m] = {"values": values, "contrast": float(contrast)}
    return out


def wasserstein(a, b):
    # 1-Wasserstein distance of two samples: mean absolute difference of their quantile functions.
    q = np.linspace(0.0005, 0.9995, 2000)
    return float(np.mean(np.abs(np.quantile(a, q) - np.quantile(b, q))))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cli")
    ap.add_argument("real_case")
    ap.add_argument("cohort")
    ap.add_argument("--cases", type=int, default=20)
    ap.add_argument("--grade", choices=("HGG", "LGG"))
    ap.add_argument("--spacing", type=float, default=4.0)
    ap.add_argument("--json")
    args = ap.parse_args()

    with open(os.path.join(args.cohort, "name_mapping.csv"), newline="") as f:
        rows = list(csv.reader(f))[1:]
    ids = [r[-1] for r in rows if args.grade is None or r[0] == args.grade][: args.cases]
    if not ids:
        sys.exit("sim2real_stats: no case folders in " + args.cohort)
    with tempfile.TemporaryDirectory() as tmp:
        real = case_stats(*preprocess(args.cli, args.real_case, os.path.join(tmp, "real"), args.spacing))
        synth = [case_stats(*preprocess(args.cli, os.path.join(args.cohort, i), os.path.join(tmp, i), args.spacing)) for i in ids]

    result = {"cases": len(ids), "grade": args.grade or "all", "spacing_mm": args.spacing, "modalities": {}}
    print("| modality | histogram distance (W1, z units) | tumour-to-brain contrast: real | synthetic median [quartiles] |")
    print("|---|---|---|---|")
    for m in MODALITIES:
        dists = [wasserstein(s[m]["values"], real[m]["values"]) for s in synth]
        contrasts = np.array([s[m]["contrast"] for s in synth])
        q1, med, q3 = np.nanpercentile(contrasts, [25, 50, 75])
        result["modalities"][m] = {"w1_median": float(np.median(dists)), "contrast_real": real[m]["contrast"],
                                   "contrast_synthetic": [float(q1), float(med), float(q3)]}
        print("| %s | %.3f | %+.2f | %+.2f [%+.2f, %+.2f] |" % (m, np.median(dists), real[m]["contrast"], med, q1, q3))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
