#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Oracle for the NIfTI reader/writer tests: what nibabel (Debian's python3-nibabel) reports.

Usage: nifti_oracle.py FILE [FILE ...]
Prints one JSON document {"files": [...]} with, for each file, the header facts (dim, pixdim,
zooms, on-disk dtype, scl_slope/scl_inter, the slope/inter nibabel applies, qform/sform codes,
img.affine, and the qform and sform matrices themselves) and, when the image holds a single 3D volume, statistics of get_fdata(): sum, min,
max, a position-weighted sum (catches transposed or flipped axes) and values at a few indices.
Non-finite numbers are written as null (strict JSON).
"""
import json
import math
import sys

import nibabel as nib
import numpy as np


def num(x):
    x = float(x)
    return x if math.isfinite(x) else None


def sample_indices(shape):
    nx, ny, nz = shape
    cand = [(0, 0, 0), (nx // 2, ny // 2, nz // 2), (nx // 3, (2 * ny) // 3, nz // 4),
            (nx - 1, ny - 1, nz - 1), (min(1, nx - 1), ny // 2, max(nz - 2, 0)),
            ((3 * nx) // 4, ny // 5, (2 * nz) // 3)]
    return cand


def describe(path):
    img = nib.load(path)
    # img.header has its scaling reset after loading (nibabel moves it into the array proxy), so
    # the header facts come from the header block as nibabel parses it from the file.
    with nib.openers.ImageOpener(path) as fobj:
        hdr = img.header_class.from_fileobj(fobj)
    out = {
        "path": path,
        "version": 2 if isinstance(hdr, nib.Nifti2Header) else 1,
        "shape": [int(s) for s in img.shape],
        "dim": [int(d) for d in hdr["dim"]],
        "pixdim": [num(p) for p in hdr["pixdim"]],
        "zooms": [num(z) for z in hdr.get_zooms()],
        "dtype": img.get_data_dtype().name,
        "scl_slope": num(hdr["scl_slope"]),
        "scl_inter": num(hdr["scl_inter"]),
        "qform_code": int(hdr["qform_code"]),
        "sform_code": int(hdr["sform_code"]),
        "affine": [[float(v) for v in row] for row in img.affine],
        "qform": [[float(v) for v in row] for row in hdr.get_qform()],
        "sform": [[float(v) for v in row] for row in hdr.get_sform()],
    }
    slope, inter = hdr.get_slope_inter()
    out["applied_slope"] = None if slope is None else float(slope)
    out["applied_inter"] = None if inter is None else float(inter)
    shape = img.shape
    is_3d = len(shape) <= 3 or all(s == 1 for s in shape[3:])
    if is_3d and np.issubdtype(img.get_data_dtype(), np.number) \
            and not np.issubdtype(img.get_data_dtype(), np.complexfloating):
        data = np.asarray(img.get_fdata(dtype=np.float64))
        data = data.reshape(tuple(shape[:3]) + (1,) * (3 - min(len(shape), 3)))
        finite = np.isfinite(data)
        i, j, k = np.indices(data.shape)
        weights = 1.0 + ((i + 2 * j + 3 * k) % 5)
        out["data"] = {
            "nonfinite": int(data.size - finite.sum()),
            "sum": float(data[finite].sum()),
            "min": float(data[finite].min()) if finite.any() else None,
            "max": float(data[finite].max()) if finite.any() else None,
            "wsum": float((data[finite] * weights[finite]).sum()),
            "samples": [[int(a), int(b), int(c), num(data[a, b, c])]
                        for a, b, c in sample_indices(data.shape)],
        }
    return out


def main(argv):
    files = [describe(p) for p in argv[1:]]
    json.dump({"files": files}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv)
