#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Independent oracle for the preprocessing of docs/method.md#preprocessing, written with nibabel + SciPy.

usage: preprocess_oracle.py IN.nii[.gz] OUT_PREFIX SPACING_MM FOV_X,FOV_Y,FOV_Z {linear|nearest|canonical} [zscore 0|1]

Writes OUT_PREFIX.raw (float32, C order = numpy order) and OUT_PREFIX.json (shape, affine, axcodes).
'canonical' only reorients (nibabel.as_closest_canonical).
"""
import json
import sys

import nibabel as nib
import numpy as np
from scipy import ndimage


def main():
    src, prefix, spacing, fov, mode = sys.argv[1:6]
    do_z = len(sys.argv) > 6 and sys.argv[6] == "1"
    spacing = float(spacing)
    fov = np.array([float(x) for x in fov.split(",")])
    img = nib.as_closest_canonical(nib.load(src))
    data = np.asanyarray(img.get_fdata(dtype=np.float64))
    if data.ndim > 3:
        data = data.reshape(data.shape[:3])
    a = img.affine
    if mode == "canonical":
        out, out_aff = data, a
    else:
        n_out = np.rint(fov / spacing).astype(int)
        zooms = np.sqrt((a[:3, :3] ** 2).sum(axis=0))
        out_aff = np.eye(4)
        out_aff[:3, :3] = a[:3, :3] / zooms * spacing
        centre = a[:3, :3] @ ((np.array(data.shape[:3]) - 1) / 2.0) + a[:3, 3]
        out_aff[:3, 3] = centre - out_aff[:3, :3] @ ((n_out - 1) / 2.0)
        vox = np.linalg.inv(a) @ out_aff
        grid = np.indices(n_out).reshape(3, -1).astype(np.float64)
        coords = vox[:3, :3] @ grid + vox[:3, 3:4]
        if mode == "linear":
            out = ndimage.map_coordinates(data, coords, order=1, mode="grid-constant", cval=0.0)
        else:
            idx = np.floor(coords + 0.5).astype(np.int64)
            inside = np.all((idx >= 0) & (idx < np.array(data.shape)[:, None]), axis=0)
            out = np.zeros(idx.shape[1])
            out[inside] = data[idx[0, inside], idx[1, inside], idx[2, inside]]
        out = out.reshape(n_out)
        if do_z:
            out = (out - out.mean()) / out.std(ddof=1)
    out.astype(np.float32).tofile(prefix + ".raw")
    with open(prefix + ".json", "w") as f:
        json.dump({"shape": list(out.shape), "affine": out_aff.tolist(),
                   "axcodes": "".join(nib.aff2axcodes(nib.load(src).affine))}, f)


if __name__ == "__main__":
    main()
