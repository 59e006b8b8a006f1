#!/usr/bin/python3
"""Builds resources/anatomy/{csf,gm,wm}.nii.gz, the healthy anatomy of the synthetic cohort.

Usage: scripts/make_anatomy.py PVESEG BRATS_T1 OUT_DIR
  PVESEG    mni152_pveseg.nii.gz from niivue (1 CSF, 2 GM, 3 WM at 0.7375 mm, MNI/ICBM152 space)
  BRATS_T1  a skull-stripped scan in BraTS (SRI24) space, used only for its brain mask
            (tests/data/brats/TCGA-DU-7294/TCGA-DU-7294_t1.nii.gz)
  OUT_DIR   resources/anatomy

What it does (all of it; the C++ generator reads the result as is):
 1. Placement of the MNI brain in BraTS space. MNI152 space is enlarged relative to real brains
    (and to SRI24, the BraTS template, built from 24 individual brains without rescaling).
    The brain mask of the template (pveseg > 0) is mapped onto the brain mask of the BraTS-space
    scan by matching first and second moments: one isotropic scale s (the mean over the three
    axes of the ratio of standard deviations) and the translation of the centroids; no rotation
    (both spaces are AC-PC aligned). Only the mask's position and size are used: every BraTS
    scan shares them up to the subject's head size, which the generator varies per subject.
 2. Resampling onto the BraTS 1 mm grid, LPS (affine diag(-1, -1, 1), y offset 239, as BraTS
    files), cropped to the brain's bounding box plus 4 mm: each 1 mm voxel gets the fraction of
    CSF, GM and WM among 4 x 4 x 4 = 64 nearest-neighbour samples of the label map at the
    centres of its sub-cubes (partial volume), stored as uint8 = round(255 * fraction).
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

    c_mni, sd_mni = moments(labels > 0, seg_img.affine)
    c_brats, sd_brats = moments(brats_mask, brats.affine)
    s = float(np.mean(sd_brats / sd_mni))
    # world_brats = s * (world_mni - c_mni) + c_brats
    print("scale %.4f, MNI centroid %s -> BraTS centroid %s" % (s, np.round(c_mni, 2), np.round(c_brats, 2)))

    # Output grid: BraTS LPS 1 mm, cropped to the template's bounding box (+4 mm).
    brats_affine = np.array([[-1.0, 0, 0, 0], [0, -1.0, 0, 239.0], [0, 0, 1.0, 0], [0, 0, 0, 1]])
    idx = np.argwhere(labels > 0)
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

    counts = np.zeros((4,) + tuple(shape), np.uint16)
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
    for lab, name in ((1, "csf"), (2, "gm"), (3, "wm")):
        frac = np.round(counts[lab].astype(np.float64) * 255.0 / 64.0).astype(np.uint8)
        img = nib.Nifti1Image(frac, out_affine)
        img.header.set_xyzt_units("mm")
        img.set_qform(out_affine, code=1)
        img.set_sform(out_affine, code=1)
        nib.save(img, "%s/%s.nii.gz" % (out_dir, name))
        print(name, frac.shape, "volume %.0f ml" % (counts[lab].sum() / 64.0 / 1000.0))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
