#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Writes the hostile-input corpus tests/data/bad/ (checked in; re-run to regenerate).

Every case is one row of MANIFEST.tsv:
  id <TAB> category <TAB> command <TAB> file <TAB> problem <TAB> description
  command  the CLI arguments after `mprotonet`; {bad} = this folder, {out} = an empty output
           folder the test creates (nothing may be left in it afterwards).
  file     a substring of the offending file's path the error message must contain.
  problem  a substring (case-insensitive) saying what is wrong, which the message must contain.
tests/robustness/test_corpus.cpp runs every row (exit code 1..127, message, empty {out},
hang guard). Volumes are tiny (8x8x6) so the whole corpus stays small.
Usage: /usr/bin/python3 tests/data/bad/make_bad_corpus.py   (needs numpy, nibabel, torch)
"""
import gzip
import io
import json
import os
import shutil
import struct
import sys
import zipfile

import nibabel as nib
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SHAPE = (8, 8, 6)
MODS = ["t1", "t1ce", "t2", "flair"]
ROWS = []
RNG = np.random.default_rng(8)


def case(cid, category, command, file, problem, description):
    assert "\t" not in description
    ROWS.append((cid, category, command, file, problem, description))


def affine(shift=0.0):
    a = np.diag([-1.0, -1.0, 1.0, 1.0])  # LPS-like, as real BraTS
    a[:3, 3] = [8.0 + shift, 8.0, -3.0]
    return a


def nifti_bytes(data, aff=None, gz=True, dtype=None):
    img = nib.Nifti1Image(np.asarray(data, dtype=dtype or np.asarray(data).dtype), affine(0) if aff is None else aff)
    img.header.set_qform(img.affine, 1)
    img.header.set_sform(img.affine, 1)
    raw = img.to_bytes()
    return gzip.compress(raw, mtime=0) if gz else raw


def image(shape=SHAPE):
    return (RNG.random(shape) * 400).astype(np.int16)


def seg(shape=SHAPE, labels=(0, 1, 2, 4)):
    s = np.zeros(shape, np.uint8)
    s[2:5, 2:5, 1:4] = labels[1]
    s[3, 3, 2] = labels[2]
    s[4, 4, 3] = labels[3]
    return s


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def write_case(folder, sid, replace=None, with_seg=True, shapes=None, affines=None, seg_data=None):
    """A BraTS 2020-style case folder; replace = {modality: (file name, bytes)}."""
    replace = replace or {}
    for m in MODS + (["seg"] if with_seg else []):
        if m in replace:
            name, data = replace[m]
            if name is None:
                continue  # left out
            write(os.path.join(folder, name), data)
            continue
        shp = (shapes or {}).get(m, SHAPE)
        aff = (affines or {}).get(m, affine())
        if m == "seg":
            d = seg(shp) if seg_data is None else seg_data
            write(os.path.join(folder, f"{sid}_seg.nii.gz"), nifti_bytes(d, aff))
        else:
            write(os.path.join(folder, f"{sid}_{m}.nii.gz"), nifti_bytes(image(shp), aff))


def patch(raw, offset, fmt, *values):
    b = bytearray(raw)
    struct.pack_into("<" + fmt, b, offset, *values)
    return bytes(b)


# NIfTI-1 header field offsets.
DIM, DATATYPE, BITPIX, PIXDIM, VOX_OFFSET, QFORM, SFORM = 40, 70, 72, 76, 108, 252, 254


# --------------------------------------------------------------------------------- NIfTI
def nifti_cases():
    pp = "preprocess --case {bad}/nifti/%s --out {out}/pp --spacing 3"
    good = nifti_bytes(image(), gz=False)

    def bad_t1(cid, name, data, problem, description):
        write_case(os.path.join(HERE, "nifti", cid), cid, replace={"t1": (name, data)}, with_seg=False)
        case(cid, "nifti", pp % cid, f"{cid}/{name}", problem, description)

    gz = nifti_bytes(image())
    bad_t1("nifti_truncated_gzip", "nifti_truncated_gzip_t1.nii.gz", gz[: len(gz) * 2 // 3], "truncated gzip",
           "t1 .nii.gz cut at 2/3 of its compressed bytes")
    corrupt = bytearray(gz)
    for i in range(len(corrupt) // 2, len(corrupt) // 2 + 16):
        corrupt[i] ^= 0x5A
    bad_t1("nifti_corrupt_gzip", "nifti_corrupt_gzip_t1.nii.gz", bytes(corrupt), "gzip",
           "t1 .nii.gz with 16 flipped bytes in the middle of the deflate stream")
    bad_t1("nifti_truncated_raw", "nifti_truncated_raw_t1.nii", good[: 352 + 100], "file too short",
           "uncompressed t1 .nii cut 100 bytes into the voxel data")
    bad_t1("nifti_dim_zero", "nifti_dim_zero_t1.nii", patch(good, DIM + 4, "h", 0), "dim[2] is 0",
           "header dim[2] = 0")
    bad_t1("nifti_dim_negative", "nifti_dim_negative_t1.nii", patch(good, DIM + 2, "h", -8), "dim[1] is -8",
           "header dim[1] = -8")
    bad_t1("nifti_ndim_bad", "nifti_ndim_bad_t1.nii", patch(good, DIM, "h", 9), "dim[0]",
           "header dim[0] (number of dimensions) = 9")
    # 5000 x 5000 x 1000 float32 = 100 GB: refused from the header, before any allocation.
    huge = patch(patch(patch(good, DIM, "4h", 3, 5000, 5000, 1000), DATATYPE, "hh", 16, 32), SFORM, "h", 1)
    bad_t1("nifti_huge_100GB", "nifti_huge_100GB_t1.nii", huge, "100000000000 bytes",
           "header dims 5000x5000x1000 float32 (100 GB) in a 1 kB file")
    huge_gz = gzip.compress(huge, mtime=0)
    bad_t1("nifti_huge_100GB_gz", "nifti_huge_100GB_gz_t1.nii.gz", huge_gz, "100000000000 bytes",
           "the same 100 GB header gzip-compressed")
    bad_t1("nifti_datatype_complex", "nifti_datatype_complex_t1.nii", patch(good, DATATYPE, "hh", 32, 64),
           "unsupported datatype", "datatype 32 (complex64)")
    bad_t1("nifti_datatype_rgb", "nifti_datatype_rgb_t1.nii", patch(good, DATATYPE, "hh", 128, 24),
           "unsupported datatype", "datatype 128 (RGB24)")
    f = np.asarray(image(), np.float32)
    f[1, 2, 3] = np.nan
    bad_t1("nifti_nan_voxels", "nifti_nan_voxels_t1.nii.gz", nifti_bytes(f, dtype=np.float32), "NaN or infinite",
           "float32 t1 with one NaN voxel")
    f = np.asarray(image(), np.float32)
    f[0, 0, 0] = np.inf
    f[7, 7, 5] = -np.inf
    bad_t1("nifti_inf_voxels", "nifti_inf_voxels_t1.nii.gz", nifti_bytes(f, dtype=np.float32), "NaN or infinite",
           "float32 t1 with +Inf and -Inf voxels")
    f = np.asarray(image(), np.float32)
    bad_slope = patch(nifti_bytes(f, gz=False, dtype=np.float32), 112, "f", 1e38)
    bad_t1("nifti_scaled_overflow", "nifti_scaled_overflow_t1.nii", bad_slope, "NaN or infinite",
           "scl_slope 1e38 makes the scaled voxels overflow float32 to Inf")
    bad_t1("nifti_zero_voxel_size", "nifti_zero_voxel_size_t1.nii", patch(good, PIXDIM + 8, "f", 0.0),
           "pixdim[2] is 0", "voxel size pixdim[2] = 0")
    more = patch(good, DIM, "4h", 3, 8, 8, 60)
    bad_t1("nifti_claims_more_data", "nifti_claims_more_data_t1.nii", more, "file too short",
           "header says 8x8x60 but the file holds 8x8x6 voxels")
    bad_t1("nifti_not_nifti", "nifti_not_nifti_t1.nii.gz", b"this is a text file, not an image\n" * 20,
           "not a NIfTI file", "a text file named .nii.gz")
    bad_t1("nifti_empty_file", "nifti_empty_file_t1.nii", b"", "not a NIfTI file", "a zero-byte .nii")
    bad_t1("nifti_bad_vox_offset", "nifti_bad_vox_offset_t1.nii", patch(good, VOX_OFFSET, "f", 0.0), "vox_offset",
           "vox_offset 0 (voxel data would overlap the header)")
    bad_t1("nifti_4d", "nifti_4d_t1.nii", patch(nifti_bytes(np.zeros((8, 8, 6, 2), np.int16), gz=False), 0, "i", 348),
           "volumes", "a 4D file with 2 volumes where one 3D volume is expected")


# ---------------------------------------------------------------------------------- BraTS
def brats_cases():
    ds = "dataset --data {bad}/brats/%s --json {out}/dataset.json"
    root = os.path.join(HERE, "brats")

    def cohort(cid, subjects, csv):
        d = os.path.join(root, cid)
        for sid, kw in subjects:
            write_case(os.path.join(d, sid), sid, **kw)
        if csv is not None:
            write(os.path.join(d, "name_mapping.csv"), csv.encode())
        return d

    hdr = "Grade,BraTS_2019_subject_ID,BraTS_2020_subject_ID\n"
    cohort("brats_missing_modality", [("S1", {"replace": {"t2": (None, b"")}}), ("S2", {})],
           hdr + "HGG,x,S1\nLGG,y,S2\n")
    case("brats_missing_modality", "brats", ds % "brats_missing_modality", "S1", "missing modality t2",
         "subject S1 has no t2 file")
    cohort("brats_shape_mismatch", [("S1", {"shapes": {"flair": (8, 8, 5)}}), ("S2", {})], hdr + "HGG,x,S1\nLGG,y,S2\n")
    case("brats_shape_mismatch", "brats", ds % "brats_shape_mismatch", "S1_flair", "has shape 8x8x5",
         "S1 flair is 8x8x5, the other modalities 8x8x6")
    cohort("brats_affine_mismatch", [("S1", {"affines": {"t1ce": affine(shift=4.0)}}), ("S2", {})],
           hdr + "HGG,x,S1\nLGG,y,S2\n")
    case("brats_affine_mismatch", "brats", ds % "brats_affine_mismatch", "S1_t1ce", "different affine",
         "S1 t1ce is shifted 4 mm: the modalities are not on one grid")
    cohort("brats_empty_csv", [("S1", {}), ("S2", {})], "")
    case("brats_empty_csv", "brats", ds % "brats_empty_csv", "name_mapping.csv", "empty",
         "name_mapping.csv is a zero-byte file")
    cohort("brats_malformed_csv", [("S1", {}), ("S2", {})], hdr + "HGG S1\nLGG;S2\n")
    case("brats_malformed_csv", "brats", ds % "brats_malformed_csv", "name_mapping.csv", "expected at least 2",
         "rows without commas")
    cohort("brats_unknown_grade", [("S1", {}), ("S2", {})], hdr + "GBM,x,S1\nLGG,y,S2\n")
    case("brats_unknown_grade", "brats", ds % "brats_unknown_grade", "name_mapping.csv", "unknown grade 'GBM'",
         "grade GBM (expected HGG or LGG)")
    cohort("brats_duplicate_csv_id", [("S1", {}), ("S2", {})], hdr + "HGG,x,S1\nLGG,y,S2\nLGG,z,S1\n")
    case("brats_duplicate_csv_id", "brats", ds % "brats_duplicate_csv_id", "name_mapping.csv",
         "duplicate subject id 'S1'", "S1 listed twice in name_mapping.csv")
    d = os.path.join(root, "brats_duplicate_folder")
    write_case(os.path.join(d, "HGG", "S1"), "S1")
    write_case(os.path.join(d, "LGG", "S1"), "S1")
    write_case(os.path.join(d, "LGG", "S2"), "S2")
    case("brats_duplicate_folder", "brats", ds % "brats_duplicate_folder", "LGG/S1", "duplicate subject folder",
         "BraTS 2018 layout with S1 under both HGG/ and LGG/")
    cohort("brats_traversal_id", [("S1", {}), ("S2", {})], hdr + "HGG,x,S1\nLGG,y,S2\nHGG,z,../../etc/x\n")
    case("brats_traversal_id", "brats", ds % "brats_traversal_id", "name_mapping.csv", "path separator",
         "a subject id ../../etc/x in name_mapping.csv (path traversal)")
    cohort("brats_dotdot_id", [("S1", {}), ("S2", {})], hdr + "HGG,x,S1\nLGG,y,S2\nHGG,z,..\n")
    case("brats_dotdot_id", "brats", ds % "brats_dotdot_id", "name_mapping.csv", "not a valid subject id",
         "a subject id '..' in name_mapping.csv")
    bad_seg = seg(labels=(0, 1, 3, 7))
    cohort("brats_seg_labels", [("S1", {"seg_data": bad_seg})], None)
    case("brats_seg_labels", "brats", "preprocess --case {bad}/brats/brats_seg_labels/S1 --out {out}/pp --spacing 3",
         "S1_seg.nii.gz", "outside {0, 1, 2, 4}", "segmentation with labels 3 and 7")
    cohort("brats_no_subjects", [], hdr)
    case("brats_no_subjects", "brats", ds % "brats_no_subjects", "brats_no_subjects", "no subject rows",
         "name_mapping.csv with a header only and no subject folders")


# ------------------------------------------------------------------------- model configs
TINY = {"model_name": "CNN3D", "in_size": [4, 16, 16, 16], "out_size": 2, "features": "resnet18_ri", "n_layers": 2}


def config_cases():
    mi = "model-info --config {bad}/config/%s.json"

    def cfg(cid, text, problem, description):
        write(os.path.join(HERE, "config", cid + ".json"), text.encode())
        case(cid, "config", mi % cid, cid + ".json", problem, description)

    cfg("config_unknown_key", json.dumps(dict(TINY, n_layer=3)), 'unknown field "n_layer"', "typo n_layer for n_layers")
    cfg("config_wrong_type", json.dumps(dict(TINY, n_layers="five")), "n_layers", "n_layers is a string")
    cfg("config_wrong_type_array", json.dumps(dict(TINY, in_size=4)), "in_size", "in_size is a number, not a list")
    cfg("config_negative_size", json.dumps(dict(TINY, in_size=[4, -16, 16, 16])), "in_size",
        "a negative spatial input size")
    cfg("config_too_small", json.dumps(dict(TINY, in_size=[4, 1, 1, 1], n_layers=8)), "expected every spatial size",
        "an input smaller than the backbone's stride")
    cfg("config_bad_prototypes", json.dumps(dict(TINY, model_name="MProtoNet3D_pm5", prototype_shape=[3, 128, 1, 1, 1])),
        "prototype_shape", "3 prototypes for 2 classes (not a multiple)")
    cfg("config_huge", json.dumps(dict(TINY, in_size=[4, 10**9, 10**9, 10**9])), "in_size",
        "input of 10^27 voxels")
    cfg("config_not_json", '{"model_name": "CNN3D", "in_size": [4, 16', "not valid JSON", "truncated JSON")
    cfg("config_not_object", "[1, 2, 3]", "expected a JSON object", "a JSON array")


# ------------------------------------------------------------------------------ checkpoints
def torch_zip(entries, name="archive"):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for k, v in entries.items():
            z.writestr(zipfile.ZipInfo(f"{name}/{k}", date_time=(1980, 1, 1, 0, 0, 0)), v)  # reproducible bytes
    return buf.getvalue()


def checkpoint_cases():
    import torch
    sys.path.insert(0, os.path.join(HERE, "..", "..", "helpers"))
    d = os.path.join(HERE, "checkpoints")
    os.makedirs(d, exist_ok=True)
    write(os.path.join(d, "tiny_config.json"), json.dumps(TINY).encode())
    imp = "import --config {bad}/checkpoints/tiny_config.json --state-dict {bad}/checkpoints/%s --out {out}/model.mpn"

    def ck(cid, name, data, problem, description, command=None):
        write(os.path.join(d, name), data)
        case(cid, "checkpoint", command or imp % name, name, problem, description)

    ck("ckpt_not_zip", "ckpt_not_zip.pt", b"\x80\x02}q\x00." + b"legacy pickle, not a zip" * 4, "zip",
       "a legacy (non-zip) pickle file")
    buf = io.BytesIO()
    torch.save({"fc.weight": torch.zeros(2, 128)}, buf)
    good = buf.getvalue()
    ck("ckpt_truncated_zip", "ckpt_truncated_zip.pt", good[: len(good) // 2], "zip",
       "a torch.save zip cut in half (no central directory)")
    ck("ckpt_no_data_pkl", "ckpt_no_data_pkl.pt", torch_zip({"version": b"3\n", "data/0": b"\0" * 16}), "data.pkl",
       "a zip without data.pkl")
    # GLOBAL os.system, then REDUCE: what a malicious checkpoint does to run a shell command.
    evil = b"\x80\x02cos\nsystem\nq\x00X\x15\x00\x00\x00touch /tmp/mpn_pwned_\x85q\x01Rq\x02."
    ck("ckpt_os_system", "ckpt_os_system.pt", torch_zip({"data.pkl": evil, "version": b"3\n"}), "os.system",
       "data.pkl names the global os.system (code execution attempt)")
    evil2 = b"\x80\x02cbuiltins\neval\nq\x00X\x06\x00\x00\x001+1+1\x85q\x01Rq\x02."
    ck("ckpt_builtins_eval", "ckpt_builtins_eval.pt", torch_zip({"data.pkl": evil2, "version": b"3\n"}),
       "builtins.eval", "data.pkl names builtins.eval")
    # A storage record shorter than its tensor: fc.weight [2, 128] float32 needs 1024 bytes.
    with zipfile.ZipFile(io.BytesIO(good)) as z:
        entries = {i.filename.split("/", 1)[1]: z.read(i) for i in z.infolist()}
    key = [k for k in entries if k.startswith("data/")][0]
    entries[key] = entries[key][:100]
    ck("ckpt_short_storage", "ckpt_short_storage.pt", torch_zip(entries), "bytes",
       "the storage record of fc.weight holds 100 of its 1024 bytes")
    # Every key of the tiny CNN3D, with features.conv1.weight of the wrong shape.
    from oracle_models import CNN
    torch.manual_seed(0)
    sd = CNN(TINY).state_dict()
    sd = {k: torch.zeros_like(v) for k, v in sd.items()}
    sd["features.conv1.weight"] = torch.zeros(64, 4, 3, 3, 3)
    buf = io.BytesIO()
    torch.save(sd, buf)
    ck("ckpt_shape_mismatch", "ckpt_shape_mismatch.pt", buf.getvalue(), "features.conv1.weight",
       "features.conv1.weight is [64,4,3,3,3], the model needs [64,4,7,7,7]")
    buf = io.BytesIO()
    torch.save({"features.conv1.weight": torch.zeros(1)}, buf)
    ck("ckpt_missing_keys", "ckpt_missing_keys.pt", buf.getvalue(), "missing",
       "a state_dict with one key: every other parameter is missing")
    ck("ckpt_model_garbage", "ckpt_model_garbage.mpn", b"PK\x03\x04" + b"\xff" * 200, "ckpt_model_garbage",
       "a model file of garbage after a zip signature", command="model-info --model {bad}/checkpoints/ckpt_model_garbage.mpn")


# ------------------------------------------------------------- issue 19: faults found later
# Kept after the older cases, with their own random generator, so that adding them left every
# earlier file byte-identical.
SRROW_X, QOFFSET_X = 280, 268


def model_file_bytes(state_dict, config):
    """A model file as `mprotonet` writes it (nets/model_file.h): torch.save of a dict."""
    import torch
    buf = io.BytesIO()
    torch.save({"format": "mprotonet-model-v1", "config": json.dumps(config), "push_record": "null",
                "state_dict": dict(state_dict)}, buf)
    return buf.getvalue()


def damage_record(data, prefix):
    """Flips one byte in the middle of the first record whose name starts with prefix, leaving
    its CRC-32 stale (a file changed in place)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        info = next(i for i in z.infolist() if i.filename.split("/", 1)[-1].startswith(prefix) and i.file_size > 64)
    b = bytearray(data)
    name_len, extra_len = struct.unpack_from("<HH", b, info.header_offset + 26)
    b[info.header_offset + 30 + name_len + extra_len + info.file_size // 2] ^= 0x10
    return bytes(b), info.filename


def issue19_cases():
    global RNG
    RNG = np.random.default_rng(19)
    pp = "preprocess --case {bad}/nifti/%s --out {out}/pp --spacing 3"

    def bad_t1(cid, name, data, problem, description):
        write_case(os.path.join(HERE, "nifti", cid), cid, replace={"t1": (name, data)}, with_seg=False)
        case(cid, "nifti", pp % cid, f"{cid}/{name}", problem, description)

    good = nifti_bytes(image(), gz=False)
    bad_t1("nifti_nan_sform", "nifti_nan_sform_t1.nii", patch(good, SRROW_X, "f", float("nan")), "srow_x[0] is nan",
           "the sform's srow_x[0] is NaN (used to end as 'volume is constant', after casting NaN to an index)")
    qonly = patch(patch(good, SFORM, "h", 0), QOFFSET_X, "f", float("inf"))
    bad_t1("nifti_inf_qform", "nifti_inf_qform_t1.nii.gz", gzip.compress(qonly, mtime=0), "qoffset_x is inf",
           "no sform; the qform's qoffset_x is +Inf")
    # 1000^3 int16 = 2 GB claimed by a tiny gzip file: refused by the per-volume limit from the
    # header alone (a 2 MB gzip of zeros really can hold that much; see test_integrity.cpp).
    bomb = patch(good, DIM, "4h", 3, 1000, 1000, 1000)[:352]
    bad_t1("nifti_bomb_header", "nifti_bomb_header_t1.nii.gz", gzip.compress(bomb + b"\0" * 65536, mtime=0),
           "limit of 268435456 voxels", "header claims 1000^3 int16 voxels (2 GB) in a small .nii.gz")

    ds = "dataset --data {bad}/brats/%s --json {out}/dataset.json"
    root = os.path.join(HERE, "brats")
    for sid in ("S1", "S2"):
        write_case(os.path.join(root, "brats_utf16_csv", sid), sid)
        write_case(os.path.join(root, "brats_extra_columns", sid), sid)
    hdr = "Grade,BraTS_2019_subject_ID,BraTS_2020_subject_ID\n"
    write(os.path.join(root, "brats_utf16_csv", "name_mapping.csv"),
          (hdr + "HGG,x,S1\nLGG,y,S2\n").encode("utf-16"))
    case("brats_utf16_csv", "brats", ds % "brats_utf16_csv", "name_mapping.csv", "UTF-16",
         "name_mapping.csv saved as UTF-16 (a NUL in every other byte used to cut the message)")
    write(os.path.join(root, "brats_extra_columns", "name_mapping.csv"),
          (hdr + "HGG,x,S1,from another export\nLGG,y,S2\n").encode())
    case("brats_extra_columns", "brats", ds % "brats_extra_columns", "name_mapping.csv", "the header has 3",
         "a row with an extra column (its last field used to be taken for the subject id)")

    tr = ("train --config {bad}/config/%s.json --data {bad}/brats/brats_extra_columns --out {out}/run "
          "--model-name CNN3D --folds 2")
    for cid, text, problem, description in [
            ("train_epochs_1e20", '{"train": {"epochs": 1e20}}', "epochs is 1e+20",
             "epochs 1e20 (used to become a negative number)"),
            ("train_epochs_fraction", '{"train": {"epochs": 2.7}}', "epochs is 2.7 (not an integer)",
             "epochs 2.7 (used to become 2)"),
            ("train_seed_negative", '{"seed": -1}', "seed is -1", "seed -1 (used to wrap to 4294967295)")]:
        write(os.path.join(HERE, "config", cid + ".json"), text.encode())
        case(cid, "config", tr % cid, cid + ".json", problem, description)

    import torch
    sys.path.insert(0, os.path.join(HERE, "..", "..", "helpers"))
    from oracle_models import CNN
    d = os.path.join(HERE, "checkpoints")
    torch.manual_seed(19)
    sd = CNN(TINY).state_dict()
    good_model = model_file_bytes(sd, TINY)
    write(os.path.join(d, "model_ok.mpn"), good_model)
    x = torch.from_numpy(RNG.standard_normal((1, 4, 16, 16, 16)).astype(np.float32))
    buf = io.BytesIO()
    torch.save(x, buf)
    write(os.path.join(d, "input_ok.pt"), buf.getvalue())
    x[0, 1, 2, 3, 4] = float("nan")
    buf = io.BytesIO()
    torch.save(x, buf)
    pr = "predict --model {bad}/checkpoints/%s --tensor {bad}/checkpoints/%s --json {out}/p.json"
    write(os.path.join(d, "input_nan.pt"), buf.getvalue())
    case("predict_nan_input", "checkpoint", pr % ("model_ok.mpn", "input_nan.pt"), "input_nan.pt",
         "1 of 16384 values are NaN or infinite", "an input tensor with one NaN voxel (used to answer 'predicted 0')")
    damaged, record = damage_record(good_model, "data/")
    write(os.path.join(d, "model_crc_damaged.mpn"), damaged)
    case("model_crc_damaged", "checkpoint", "model-info --model {bad}/checkpoints/model_crc_damaged.mpn",
         "model_crc_damaged.mpn", "fails its CRC-32 check",
         f"one byte of record {record} changed in place, CRC left stale (used to be read without complaint)")
    nan_sd = {k: v.clone() for k, v in sd.items()}
    first = next(k for k, v in nan_sd.items() if v.is_floating_point())
    nan_sd[first].view(-1)[0] = float("nan")
    write(os.path.join(d, "model_nan_weights.mpn"), model_file_bytes(nan_sd, TINY))
    case("model_nan_weights", "checkpoint", pr % ("model_nan_weights.mpn", "input_ok.pt"), "model_nan_weights.mpn",
         "non-finite value", f"{first} holds a NaN (used to predict with exit 0)")


def main():
    for sub in ("nifti", "brats", "config", "checkpoints"):
        shutil.rmtree(os.path.join(HERE, sub), ignore_errors=True)
    nifti_cases()
    brats_cases()
    config_cases()
    checkpoint_cases()
    issue19_cases()
    ids = [r[0] for r in ROWS]
    assert len(ids) == len(set(ids)), "duplicate case id"
    with open(os.path.join(HERE, "MANIFEST.tsv"), "w") as f:
        f.write("# id\tcategory\tcommand\tfile\tproblem\tdescription\n")
        for r in ROWS:
            f.write("\t".join(r) + "\n")
    print(f"{len(ROWS)} cases written to {HERE}")


if __name__ == "__main__":
    main()
