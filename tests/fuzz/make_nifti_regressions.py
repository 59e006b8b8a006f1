#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Writes tests/fuzz/regressions/nifti/: small hostile NIfTI inputs and EXPECTED.tsv, what each
must give (checked in; re-run to regenerate). FuzzRegressions.NiftiInputsReadOrFailWithAnError
(tests/robustness/test_corpus.cpp) replays every file and compares with EXPECTED.tsv:
  file <TAB> ok <TAB> X x Y x Z               read_nifti returns a volume of that shape
  file <TAB> error <TAB> substring            read_nifti throws mprotonet::Error whose message
                                              contains the substring (case-insensitive)
A file the fuzzers crash on later is added here with its expected outcome.
Usage: /usr/bin/python3 tests/fuzz/make_nifti_regressions.py   (needs numpy, nibabel)
"""
import gzip
import os
import struct

import nibabel as nib
import numpy as np

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "regressions", "nifti")
SHAPE = (4, 5, 3)
DIM, DATATYPE, PIXDIM, VOX_OFFSET, SCL_SLOPE, SCL_INTER = 40, 70, 76, 108, 112, 116
ROWS = []


def nifti(data, gz=False):
    a = np.diag([2.0, 2.0, 3.0, 1.0])
    img = nib.Nifti1Image(data, a)
    img.header.set_qform(a, 1)
    img.header.set_sform(a, 1)
    raw = img.to_bytes()
    return gzip.compress(raw, mtime=0) if gz else raw


def patch(b, off, fmt, *vals):
    b = bytearray(b)
    struct.pack_into("<" + fmt, b, off, *vals)
    return bytes(b)


def add(name, data, outcome, detail):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    ROWS.append((name, outcome, detail))


def main():
    os.makedirs(HERE, exist_ok=True)
    ints = (np.arange(np.prod(SHAPE)).reshape(SHAPE) * 7 % 300).astype(np.int16)
    good = nifti(ints)
    shape = " x ".join(map(str, SHAPE))
    # Controls: the reader must still read well-formed inputs (a reader that rejects all passes
    # every error row).
    add("ok_int16.nii", good, "ok", shape)
    add("ok_float32.nii.gz", nifti(ints.astype(np.float32) / 8, gz=True), "ok", shape)
    add("truncated_header.nii", good[:200], "error", "truncated NIfTI-1 header")
    add("truncated_voxels.nii", good[: 352 + 10], "error", "file too short")
    add("truncated_gzip.nii.gz", nifti(ints, gz=True)[:60], "error", "gzip")
    # gzip bytes under a .nii name (as the fuzz harness writes every input): read by zlib, refused
    # by nifticlib, which goes by the name.
    add("gzip_named_nii.nii", nifti(ints, gz=True), "error", "nifticlib could not parse")
    add("empty.nii", b"", "error", "not a NIfTI file")
    add("sizeof_hdr_wrong.nii", patch(good, 0, "i", 1234), "error", "not a NIfTI file")
    add("dim_zero.nii", patch(good, DIM + 4, "h", 0), "error", "dim[2] is 0")
    add("dim_negative.nii", patch(good, DIM + 6, "h", -3), "error", "dim[3] is -3")
    add("ndim_8.nii", patch(good, DIM, "h", 8), "error", "dim[0]")
    add("dims_huge.nii", patch(good, DIM + 2, "hhh", 32767, 32767, 32767), "error", "the header asks for")
    add("four_volumes.nii", patch(good, DIM, "hhhhh", 4, 4, 5, 3, 2), "error", "file too short")
    add("datatype_complex.nii", patch(good, DATATYPE, "hh", 32, 64), "error", "unsupported datatype")
    add("pixdim_nan.nii", patch(good, PIXDIM + 4, "f", float("nan")), "error", "pixdim[1]")
    add("vox_offset_zero.nii", patch(good, VOX_OFFSET, "f", 0.0), "error", "vox_offset")
    add("vox_offset_nan.nii", patch(good, VOX_OFFSET, "f", float("nan")), "error", "vox_offset")
    add("vox_offset_past_end.nii", patch(good, VOX_OFFSET, "f", 4096.0), "error", "file too short")
    add("scl_inter_inf.nii", patch(good, SCL_SLOPE, "ff", 2.0, float("inf")), "error", "scl_inter")
    nan = ints.astype(np.float32)
    nan[1, 2, 1] = np.nan
    add("nan_voxel.nii", nifti(nan), "error", "NaN or infinite")
    add("scaled_to_inf.nii", patch(nifti(ints.astype(np.float32) + 1), SCL_SLOPE, "ff", 1e38, 0.0), "error",
        "NaN or infinite")
    with open(os.path.join(HERE, "EXPECTED.tsv"), "w") as f:
        f.write("# file\toutcome\tdetail (written by tests/fuzz/make_nifti_regressions.py)\n")
        for r in ROWS:
            f.write("\t".join(r) + "\n")


if __name__ == "__main__":
    main()
