#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes NIfTI files with nibabel for the reader tests: datatypes, byte orders, NIfTI-2, qform-only
transforms and explicit scaling that the real test files do not cover.

Usage: nifti_make.py OUTDIR
Prints the written file names, one per line. Values are chosen to reveal sign/width mistakes
(uint32 above 2^31, uint64 above 2^63, int8 negatives) and axis-order mistakes (distinct values).
"""
import math
import os
import struct
import sys

import nibabel as nib
import numpy as np

SHAPE = (6, 5, 4)


def base_values():
    i, j, k = np.indices(SHAPE)
    return (i * 100 + j * 10 + k).astype(np.float64)  # 0..543, all distinct


def rotated_affine(qfac=1.0):
    a, b = math.radians(25), math.radians(-40)
    rz = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    ry = np.array([[math.cos(b), 0, math.sin(b)], [0, 1, 0], [-math.sin(b), 0, math.cos(b)]])
    m = np.eye(4)
    m[:3, :3] = ry @ rz @ np.diag([1.1, 0.8, 2.2 * qfac])
    m[:3, 3] = [12.5, -30.25, 7.0]
    return m


def save(img, path):
    nib.save(img, path)
    print(os.path.basename(path))


def patch_scaling(path, slope, inter, big_endian=False):
    """Sets scl_slope/scl_inter in an uncompressed NIfTI-1 file's header."""
    fmt = ">ff" if big_endian else "<ff"
    with open(path, "r+b") as f:
        f.seek(112)
        f.write(struct.pack(fmt, slope, inter))


def patch_qfac(path, value):
    with open(path, "r+b") as f:
        f.seek(76)
        f.write(struct.pack("<f", value))


def main(out):
    v = base_values()
    aff = np.diag([1.5, 2.0, 2.5, 1.0])
    aff[:3, 3] = [-4, 5, -6]
    cases = {
        "dt_int8.nii": (v % 256 - 128).astype(np.int8),
        "dt_uint16.nii.gz": (v * 120).astype(np.uint16),
        "dt_int32.nii": (v * 3_000_000 - 900_000_000).astype(np.int32),
        "dt_uint32.nii.gz": (v * 3_000_000 + 2**31).astype(np.uint32),
        "dt_int64.nii": (v * -1_000_000_007).astype(np.int64),
        "dt_uint64.nii.gz": (v.astype(np.uint64) * np.uint64(10**15) + np.uint64(2**63)),
        "dt_float64.nii": v * -0.001 + 1e5,
    }
    for name, data in cases.items():
        img = nib.Nifti1Image(data, aff, dtype=data.dtype)
        img.header.set_data_dtype(data.dtype)
        save(img, os.path.join(out, name))

    # int32 with explicit slope/inter (nibabel's writer would choose its own, so patch after).
    p = os.path.join(out, "scaled_int32.nii")
    save(nib.Nifti1Image((v - 200).astype(np.int32), aff, dtype=np.int32), p)
    patch_scaling(p, 2.3e-3, 0.5)

    # Big-endian float32 with scaling.
    hdr = nib.Nifti1Header(endianness=">")
    p = os.path.join(out, "big_endian_scaled.nii")
    save(nib.Nifti1Image(v.astype(np.float32) * 0.25 - 3, aff, header=hdr, dtype=np.float32), p)
    patch_scaling(p, -1.5, 10.0, big_endian=True)

    # Big-endian int16, gzipped.
    hdr = nib.Nifti1Header(endianness=">")
    save(nib.Nifti1Image((v * 50 - 9000).astype(np.int16), rotated_affine(), header=hdr, dtype=np.int16),
         os.path.join(out, "big_endian_int16.nii.gz"))

    # NIfTI-2, 3D float32.
    save(nib.Nifti2Image(v.astype(np.float32) / 7, rotated_affine(), dtype=np.float32),
         os.path.join(out, "nifti2_3d.nii.gz"))

    # qform only (sform_code 0), rotated, qfac +1 and -1.
    for name, qfac in (("qform_only.nii", 1.0), ("qform_only_qfac_neg.nii.gz", -1.0)):
        img = nib.Nifti1Image((v % 256).astype(np.uint8), None, dtype=np.uint8)
        img.set_qform(rotated_affine(qfac), code=2)
        img.set_sform(None, code=0)
        save(img, os.path.join(out, name))

    # qform only with pixdim[0] (qfac) = 0: nibabel treats it as 1.
    img = nib.Nifti1Image((v % 256).astype(np.uint8), None, dtype=np.uint8)
    img.set_qform(rotated_affine(1.0), code=1)
    img.set_sform(None, code=0)
    p = os.path.join(out, "qfac_zero.nii")
    save(img, p)
    patch_qfac(p, 0.0)

    # Neither qform nor sform: nibabel's fallback affine from pixdim.
    img = nib.Nifti1Image(v.astype(np.int16), aff, dtype=np.int16)
    img.set_qform(None, code=0)
    img.set_sform(None, code=0)
    save(img, os.path.join(out, "no_transform.nii.gz"))

    # 4D and 5D files holding one volume.
    save(nib.Nifti1Image(v.astype(np.float32)[..., None], aff, dtype=np.float32),
         os.path.join(out, "one_volume_4d.nii.gz"))
    save(nib.Nifti1Image(v.astype(np.float32)[..., None, None], aff, dtype=np.float32),
         os.path.join(out, "one_volume_5d.nii"))


if __name__ == "__main__":
    main(sys.argv[1])
