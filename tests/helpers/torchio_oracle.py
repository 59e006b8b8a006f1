#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Oracle for `--preprocess reference`: the reference code's preprocessing, run by TorchIO itself.

usage: torchio_oracle.py OUT_DIR SPACING_MM CROP_X,CROP_Y,CROP_Z FILE:KIND [FILE:KIND ...]
KIND is 'image' (tio.ScalarImage: ToCanonical, CropOrPad, Resample, ZNormalization) or 'label'
(tio.LabelMap: the same transforms; TorchIO resamples it by nearest neighbour and does not
normalise it). Writes OUT_DIR/<i>.raw (float32, C order of the array axes) and OUT_DIR/<i>.json
(shape, affine, torchio version) for the i-th file.
Runs with the project's virtual environment (scripts/setup-venv.sh), which has TorchIO.
"""
import json
import os
import sys

import numpy as np
import torchio as tio


def main():
    out_dir, spacing, crop = sys.argv[1], float(sys.argv[2]), tuple(int(c) for c in sys.argv[3].split(","))
    transform = tio.Compose([tio.ToCanonical(), tio.CropOrPad(crop), tio.Resample(spacing), tio.ZNormalization()])
    for i, item in enumerate(sys.argv[4:]):
        path, kind = item.rsplit(":", 1)
        image = tio.ScalarImage(path) if kind == "image" else tio.LabelMap(path)
        result = transform(tio.Subject(volume=image))["volume"]
        data = result.data.numpy()
        assert data.shape[0] == 1, f"{path}: {data.shape[0]} channels"
        data = np.ascontiguousarray(data[0], dtype=np.float32)
        data.tofile(os.path.join(out_dir, f"{i}.raw"))
        with open(os.path.join(out_dir, f"{i}.json"), "w") as f:
            json.dump({"shape": list(data.shape), "affine": result.affine.tolist(), "torchio": tio.__version__}, f)


if __name__ == "__main__":
    main()
