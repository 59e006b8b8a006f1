#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Independent NumPy oracle for AP and DSC (docs/method.md#metrics): each subject's map is min-max
normalised once over all its channels and voxels together (one min, one max per subject), the
voxels >= threshold form each channel's activated set A, WT = voxels whose rounded label is in
the tumour labels; AP = |A n WT| / max(|A|, 1), DSC = 2 |A n WT| / max(|A| + |WT|, 1), per
subject and channel. A constant map activates nothing.

Usage: localization_oracle.py MAPS.f64 SEG.f64 N C D H W [THRESHOLD]
  MAPS.f64: N*C*D*H*W float64 (C order), SEG.f64: N*D*H*W float64 labels.
Prints {"ap": [[...] per subject], "dsc": [[...]]}.
"""
import json
import sys

import numpy as np


def scores(maps, seg, threshold=0.5, labels=(1, 2, 4)):
    n, c = maps.shape[:2]
    ap = np.zeros((n, c))
    dsc = np.zeros((n, c))
    for i in range(n):
        m = maps[i]
        lo, hi = m.min(), m.max()
        norm = (m - lo) / (hi - lo) if hi > lo else np.zeros_like(m)
        wt = np.isin(np.round(seg[i]).astype(np.int64), labels)
        for k in range(c):
            a = norm[k] >= threshold
            inter = np.logical_and(a, wt).sum()
            ap[i, k] = inter / max(a.sum(), 1)
            dsc[i, k] = 2 * inter / max(a.sum() + wt.sum(), 1)
    return ap, dsc


def main():
    n, c, d, h, w = (int(v) for v in sys.argv[3:8])
    threshold = float(sys.argv[8]) if len(sys.argv) > 8 else 0.5
    maps = np.fromfile(sys.argv[1], dtype="<f8").reshape(n, c, d, h, w)
    seg = np.fromfile(sys.argv[2], dtype="<f8").reshape(n, d, h, w)
    ap, dsc = scores(maps, seg, threshold)
    print(json.dumps({"ap": ap.tolist(), "dsc": dsc.tolist()}))


if __name__ == "__main__":
    main()
