#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Python baseline for bench_preprocess: docs/method.md#preprocessing's preprocessing of raw BraTS-geometry cases with
nibabel + PyTorch, the way a Python pipeline does it: for each case and modality, load the
.nii.gz with nibabel, reorient to the closest canonical RAS+, resample the centred 192 x 192 x 144
mm field of view at SPACING mm with torch's grid_sample (trilinear; nearest for the
segmentation; zero outside), z-score each modality, and stack into a float32 [4, X, Y, Z]
tensor. One process, torch with --threads intra-op threads (grid_sample is parallel).
Prints one JSON line: {"cases": n, "seconds": s, "cases_per_s": n / s}.
Usage: preprocess_baseline.py --data BRATS_DIR [--spacing 1.5] [--threads T] [--cases N]"""
import argparse
import glob
import json
import os
import time

import nibabel as nib
import numpy as np
import torch
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument('--data', required=True)
ap.add_argument('--spacing', type=float, default=1.5)
ap.add_argument('--threads', type=int, default=0)
ap.add_argument('--cases', type=int, default=0)
a = ap.parse_args()
if a.threads:
    torch.set_num_threads(a.threads)
FOV = np.array([192.0, 192.0, 144.0])


def resample(path, mode):
    img = nib.as_closest_canonical(nib.load(path))
    data = np.asarray(img.dataobj, dtype=np.float32)
    aff = img.affine
    n_out = np.rint(FOV / a.spacing).astype(int)
    zooms = np.sqrt((aff[:3, :3] ** 2).sum(axis=0))
    out_aff = np.eye(4)
    out_aff[:3, :3] = aff[:3, :3] / zooms * a.spacing
    centre = aff[:3, :3] @ ((np.array(data.shape[:3]) - 1) / 2.0) + aff[:3, 3]
    out_aff[:3, 3] = centre - out_aff[:3, :3] @ ((n_out - 1) / 2.0)
    vox = np.linalg.inv(aff) @ out_aff  # output voxel -> input voxel
    # grid_sample wants, per output voxel, input coordinates normalised to [-1, 1] with
    # align_corners=True, ordered (W, H, D) = (k, j, i) of the input array.
    axes = [torch.arange(n, dtype=torch.float64) for n in n_out]
    gi, gj, gk = torch.meshgrid(*axes, indexing='ij')
    grid = torch.stack([gi, gj, gk, torch.ones_like(gi)], -1) @ torch.from_numpy(vox).t()
    size = torch.tensor(data.shape[:3], dtype=torch.float64)
    norm = grid[..., :3] / (size - 1) * 2 - 1
    norm = norm[..., [2, 1, 0]].float().unsqueeze(0)
    t = torch.from_numpy(data).unsqueeze(0).unsqueeze(0)
    out = F.grid_sample(t, norm, mode='bilinear' if mode == 'linear' else 'nearest', padding_mode='zeros',
                        align_corners=True)[0, 0]
    if mode == 'linear':
        out = (out - out.mean()) / out.std()
    return out


cases = sorted(d for d in glob.glob(os.path.join(a.data, '*')) if os.path.isdir(d))
if a.cases:
    cases = cases[:a.cases]
t0 = time.perf_counter()
for case in cases:
    cid = os.path.basename(case)
    image = torch.stack([resample(os.path.join(case, f'{cid}_{m}.nii.gz'), 'linear')
                         for m in ('t1', 't1ce', 't2', 'flair')])
    seg_path = os.path.join(case, f'{cid}_seg.nii.gz')
    seg = resample(seg_path, 'nearest').to(torch.uint8) if os.path.exists(seg_path) else None
seconds = time.perf_counter() - t0
print(json.dumps(dict(cases=len(cases), seconds=seconds, cases_per_s=len(cases) / seconds)))
