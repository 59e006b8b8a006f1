#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Builds resources/anatomy/{csf,gm,wm,mask}.nii.gz, the healthy anatomy of the synthetic cohort.

Usage: scripts/make_anatomy.py PVESEG BRATS_T1 OUT_DIR
  PVESEG    mni152_pveseg.nii.gz from niivue (1 CSF, 2 GM, 3 WM at 0.7375 mm, MNI/ICBM152 space)
  BRATS_T1  a skull-stripped scan in BraTS (SRI24) space, used only for its brain mask
            (tests/data/brats/TCGA-DU-7294/TCGA-DU-7294_t1.nii.gz)
  OUT_DIR   resources/anatomy

What it does (all of it; the C++ generator reads the result as is):
 1. The brain mask a skull-stripping tool would give (BraTS scans are skull-stripped), on the
    label map's grid: the parenchyma (GM or WM) closed with a ball of radius 4 mm, holes
    filled, dilated by 1 mm. It keeps the ventricles, the sulci and a thin layer of CSF around
    the brain, not the whole subarachnoid space of the tissue map.
 2. Placement in BraTS space. MNI152 space is enlarged relative to real brains (and to SRI24,
    the BraTS template, built from 24 individual brains without rescaling). The template's
    brain mask is mapped onto the brain mask of the BraTS-space scan by matching first and
    second moments: one isotropic scale s (the mean over the three axes of the ratio of
    standard deviations) and the translation of the centroids; no rotation (both spaces are
    AC-PC aligned). Only the mask's position and size are used: every BraTS scan shares them
    up to the subject's head size, which the generator varies per subject.
 3. Resampling onto the BraTS 1 mm grid, LPS (affine diag(-1, -1, 1), y offset 239, as BraTS
    files), cropped to the template's bounding box plus 4 mm: each 1 mm voxel gets the fraction
    of CSF, GM and WM, and of the brain mask, among 4 x 4 x 4 = 64 nearest-neighbour samples of
    the label map and mask at the centres of its sub-cubes (partial volume), stored as uint8 =
    round(255 * fraction).
"""
import sys

import nibabel as nib
import numpy as np
from scipy import ndimage


def moments(mask, affine):
    idx = np.argwhere(mask)
    world = nib.affines.apply_affine(affine, idx)
    return world.mean(0), world.std(0)


def main(pveseg_path, brats_t1_path, out_dir):
    seg_img = nib.load(pveseg_path)
    labels = np.asarray(seg_img.dataobj).astype(np.uint8)
    brats = nib.load(brats_t1_path)
    brats_mask = np.asarray(brats.dataobj) != 0

    # 1. Skull-stripping mask on the label grid.
    vox_mm = float(np.mean(nib.affines.voxel_sizes(seg_img.affine)))
    r = int(round(4.0 / vox_mm))
    ball = np.sum(np.square(np.indices((2 * r + 1,) * 3) - r), axis=0) <= r * r
    parenchyma = np.pad((labels == 2) | (labels == 3), r + 1)
    mask = ndimage.binary_closing(parenchyma, structure=ball)[r + 1:-r - 1, r + 1:-r - 1, r + 1:-r - 1]
    mask = ndimage.binary_fill_holes(mask)
    d = int(round(1.0 / vox_mm))
    small = np.sum(np.square(np.indices((2 * d + 1,) * 3) - d), axis=0) <= d * d
    mask = ndimage.binary_dilation(mask, structure=small)

    c_mni, sd_mni = moments(mask, seg_img.affine)
    c_brats, sd_brats = moments(brats_mask, brats.affine)
    s = float(np.mean(sd_brats / sd_mni))
    # world_brats = s * (world_mni - c_mni) + c_brats
    print("scale %.4f, MNI centroid %s -> BraTS centroid %s" % (s, np.round(c_mni, 2), np.round(c_brats, 2)))

    # Output grid: BraTS LPS 1 mm, cropped to the template's bounding box (+4 mm).
    brats_affine = np.array([[-1.0, 0, 0, 0], [0, -1.0, 0, 239.0], [0, 0, 1.0, 0], [0, 0, 0, 1]])
    idx = np.argwhere((labels > 0) | mask)
    lo_w = s * (nib.affines.apply_affine(seg_img.affine, idx.min(0)) - c_mni) + c_brats
    hi_w = s * (nib.affines.apply_affine(seg_img.affine, idx.max(0)) - c_mni) + c_brats
    inv = np.linalg.inv(brats_affine)
    corners = nib.affines.apply_affine(inv, np.array([lo_w, hi_w]))
    lo = np.floor(corners.min(0)).astype(int) - 4
    hi = np.ceil(corners.max(0)).astype(int) + 4
    shape = hi - lo + 1
    out_affine = brats_affine.copy()
    out_affine[:3, 3] = nib.affines.apply_affine(brats_affine, lo)

    # BraTS world -> MNI world -> pveseg voxel, as one affine.
    to_mni = np.eye(4)
    to_mni[:3, :3] /= s
    to_mni[:3, 3] = c_mni - c_brats / s
    vox_to_label = np.linalg.inv(seg_img.affine) @ to_mni @ out_affine

    counts = np.zeros((5,) + tuple(shape), np.uint16)
    grid = np.indices(shape, dtype=np.float64).reshape(3, -1)
    sub = (np.arange(4) + 0.5) / 4 - 0.5
    for dx in sub:
        for dy in sub:
            for dz in sub:
                p = grid + np.array([[dx], [dy], [dz]])
                q = vox_to_label[:3, :3] @ p + vox_to_label[:3, 3:4]
                v = ndimage.map_coordinates(labels, q, order=0, mode="constant", cval=0)
                for lab in (1, 2, 3):
                    counts[lab] += (v == lab).reshape(shape).astype(np.uint16)
                m = ndimage.map_coordinates(mask.astype(np.uint8), q, order=0, mode="constant", cval=0)
                counts[4] += m.reshape(shape).astype(np.uint16)
    outputs = [(counts[lab].astype(np.float64) * 255.0 / 64.0, name) for lab, name in ((1, "csf"), (2, "gm"), (3, "wm"))]
    outputs.append((counts[4].astype(np.float64) * 255.0 / 64.0, "mask"))
    for values, name in outputs:
        frac = np.round(values).astype(np.uint8)
        img = nib.Nifti1Image(frac, out_affine)
        img.header.set_xyzt_units("mm")
        img.set_qform(out_affine, code=1)
        img.set_sform(out_affine, code=1)
        nib.save(img, "%s/%s.nii.gz" % (out_dir, name))
        print(name, frac.shape, "volume %.0f ml" % (frac.sum() / 255.0 / 1000.0))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
