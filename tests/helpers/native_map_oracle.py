#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Independent check of a map written on a case's own grid (`explain`, `predict --case`): the
map on the preprocessed grid (<method>_preprocessed.nii.gz) resampled with nibabel + SciPy onto
the T1 file's grid (each T1 voxel takes the trilinear value at the same world point, 0 outside the
preprocessed volume: scipy.ndimage.map_coordinates order 1, mode "grid-constant", as
preprocess_oracle.py), compared voxel by voxel with <method>.nii.gz, whose shape and affine must be
the T1's.

Usage: native_map_oracle.py T1.nii[.gz] MAP_DIR METHOD [METHOD ...]
Prints one JSON object: per method {"max_abs_diff", "scale" (max |map|), "shape_ok", "affine_ok",
"nonzero" (voxels of the native map above 1e-3 scale)}.
"""
import json
import sys

import nibabel as nib
import numpy as np
from scipy import ndimage


def main():
    t1 = nib.load(sys.argv[1])
    out = {}
    for method in sys.argv[3:]:
        pre = nib.load('%s/%s_preprocessed.nii.gz' % (sys.argv[2], method))
        native = nib.load('%s/%s.nii.gz' % (sys.argv[2], method))
        data = np.asanyarray(pre.get_fdata(dtype=np.float64))
        shape = t1.shape[:3]
        vox = np.linalg.inv(pre.affine) @ t1.affine  # T1 voxel -> preprocessed voxel
        grid = np.indices(shape).reshape(3, -1).astype(np.float64)
        coords = vox[:3, :3] @ grid + vox[:3, 3:4]
        want = ndimage.map_coordinates(data, coords, order=1, mode='grid-constant', cval=0.0).reshape(shape)
        got = np.asanyarray(native.get_fdata(dtype=np.float64))
        scale = float(np.abs(data).max())
        out[method] = {
            'shape_ok': list(got.shape) == list(shape),
            'affine_ok': bool(np.allclose(native.affine, t1.affine, atol=1e-4)),
            'max_abs_diff': float(np.abs(got - want).max()) if got.shape == want.shape else None,
            'scale': scale,
            'nonzero': int(np.sum(np.abs(got) > 1e-3 * scale)),
        }
    print(json.dumps(out))


if __name__ == '__main__':
    main()
