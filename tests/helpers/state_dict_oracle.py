#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Oracle for the state_dict reader/writer tests (tests/state_dict), using Debian's python3-torch.

Subcommands:
  fixtures OUTDIR        write torch.save files made by PyTorch itself plus OUTDIR/manifest.json
                         (per file: kind, and per tensor: name, dtype, shape, flattened values)
  hostile OUTDIR         write malformed / malicious checkpoint files plus OUTDIR/hostile.json
                         (per file: substrings the C++ error message must contain)
  check FILE MANIFEST [FILE MANIFEST ...]
                         torch.load FILE (also with weights_only=True) and compare it with a JSON
                         manifest written by the C++ side; exit 1 on any mismatch
  compare A B [A B ...]  torch.load each pair; exit 1 unless names, dtypes, shapes, values agree

Files here are generated at test time, so the expectations come from PyTorch, never from the
C++ code under test.
"""
import collections
import io
import json
import math
import os
import struct
import sys
import zipfile

import torch

DTYPE_NAMES = {
    torch.float32: "float32", torch.float64: "float64", torch.float16: "float16",
    torch.bfloat16: "bfloat16", torch.int64: "int64", torch.int32: "int32",
    torch.int16: "int16", torch.int8: "int8", torch.uint8: "uint8", torch.bool: "bool",
}
NAME_DTYPES = {v: k for k, v in DTYPE_NAMES.items()}


def describe(t):
    values = t.detach().reshape(-1)
    if t.dtype in (torch.float16, torch.bfloat16):
        values = values.double()
    values = values.tolist()
    if t.dtype == torch.bool:
        values = [int(v) for v in values]
    return {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape), "values": values}


class TinyNet(torch.nn.Module):
    """Conv3d + BatchNorm3d + Linear: the key pattern of the reference's nets (docs/method.md#checkpoints)."""

    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(torch.nn.Conv3d(4, 3, 3, bias=False), torch.nn.BatchNorm3d(3),
                                            torch.nn.ReLU())
        self.prototype_vectors = torch.nn.Parameter(torch.rand(2, 3, 1, 1, 1))
        self.register_buffer("ones", torch.ones(2, 3, 1, 1, 1))
        self.last_layer = torch.nn.Linear(2, 2, bias=False)


def make_fixtures(out):
    torch.manual_seed(7)
    files = {}

    net = TinyNet()
    bn = net.features[1]
    bn.running_mean.uniform_(-1, 1)
    bn.running_var.uniform_(0.5, 2)
    bn.num_batches_tracked.fill_(1234567890123)  # needs LONG1-sized int64 storage bytes
    sd = net.state_dict()
    assert hasattr(sd, "_metadata")
    torch.save(sd, os.path.join(out, "module.pt"))
    files["module.pt"] = {"kind": "state_dict", "entries": [dict(name=k, **describe(v)) for k, v in sd.items()]}

    base = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 8 - 1
    shared = torch.linspace(-2, 2, 10, dtype=torch.float64)
    tied = torch.randn(3)
    mixed = {
        "param": torch.nn.Parameter(torch.randn(3, 2)),
        "transposed": base.t(),                      # non-contiguous
        "strided": base[::2, 1::3],                   # offset + non-unit strides
        "shared_a": shared[2:7],                      # two views of one storage
        "shared_b": shared.view(2, 5)[:, 1],
        "expanded": torch.tensor([3.5]).expand(4, 3),  # stride 0
        "f64": torch.randn(2, 3, dtype=torch.float64),
        "f16": torch.randn(5).half(),
        "bf16": torch.randn(5).bfloat16(),
        "i64": torch.tensor([-(2 ** 62), -1, 0, 1, 2 ** 62 + 5]),
        "i32": torch.tensor([-(2 ** 31), 7, 2 ** 31 - 1], dtype=torch.int32),
        "i16": torch.tensor([-300, 300], dtype=torch.int16),
        "i8": torch.tensor([-128, 5, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 200, 255], dtype=torch.uint8),
        "flags": torch.tensor([True, False, True]),
        "scalar": torch.tensor(2.25),
        "empty": torch.zeros(0, 3),
        "big_offset": torch.arange(70000, dtype=torch.int32)[69990:],  # offset needs BININT
        "tied_a": tied,                               # one tensor object under two names
        "tied_b": tied,
        "tied_c": tied.view(1, 3),                    # and a full view of the same storage
    }
    torch.save(mixed, os.path.join(out, "mixed.pt"))
    files["mixed.pt"] = {"kind": "state_dict", "entries": [dict(name=k, **describe(v)) for k, v in mixed.items()]}

    t = torch.randn(2, 4, 3, 3, 2)
    torch.save(t, os.path.join(out, "tensor.pt"))
    files["tensor.pt"] = {"kind": "tensor", "entries": [dict(name="", **describe(t))]}

    view = torch.randn(3, 5).t()[1:]
    torch.save(view, os.path.join(out, "tensor_view.pt"))
    files["tensor_view.pt"] = {"kind": "tensor", "entries": [dict(name="", **describe(view))]}

    torch.save(collections.OrderedDict(), os.path.join(out, "empty_dict.pt"))
    files["empty_dict.pt"] = {"kind": "state_dict", "entries": []}

    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(files, f)


# --- hostile files --------------------------------------------------------------------------

def write_zip(path, records, compress=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compress) as z:
        for name, data in records:
            z.writestr(name, data)


def p_str(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def p_int(v):
    if 0 <= v < 256:
        return b"K" + bytes([v])
    if -(2 ** 31) <= v < 2 ** 31:
        return b"J" + struct.pack("<i", v)
    return b"\x8a\x08" + struct.pack("<q", v)


def p_tuple(vals):
    return b"(" + b"".join(p_int(v) for v in vals) + b"t"


def p_tensor(storage_type="FloatStorage", key="0", numel=3, offset=0, size=(3,), stride=(1,)):
    return (b"ctorch._utils\n_rebuild_tensor_v2\n(" +
            b"(" + p_str("storage") + b"ctorch\n" + storage_type.encode() + b"\n" + p_str(key) + p_str("cpu") +
            p_int(numel) + b"tQ" + p_int(offset) + p_tuple(size) + p_tuple(stride) +
            b"\x89ccollections\nOrderedDict\n)RtR")


def p_state_dict(items):
    body = b"".join(p_str(k) + v for k, v in items)
    return b"\x80\x02ccollections\nOrderedDict\n)R(" + body + b"u."


def archive(pkl, storages=(), extra=()):
    recs = [("archive/data.pkl", pkl)]
    recs += [("archive/data/%s" % k, v) for k, v in storages]
    recs += list(extra)
    recs.append(("archive/version", b"3\n"))
    return recs


def make_hostile(out):
    cases = {}
    floats3 = struct.pack("<3f", 1, 2, 3)

    def add(name, data_or_records, *expect, compress=zipfile.ZIP_STORED):
        path = os.path.join(out, name)
        if isinstance(data_or_records, bytes):
            with open(path, "wb") as f:
                f.write(data_or_records)
        else:
            write_zip(path, data_or_records, compress)
        cases[name] = list(expect)

    add("not_a_zip.pt", b"this is a text file, not a checkpoint\n" * 3, "not a zip archive")
    add("empty.pt", b"", "not a zip archive")
    # A pickle file saved with the legacy (non-zip) torch.save format starts with a pickle, not PK.
    legacy = io.BytesIO()
    torch.save(torch.ones(2), legacy, _use_new_zipfile_serialization=False)
    add("legacy_format.pt", legacy.getvalue(), "not a zip archive")
    add("no_data_pkl.pt", [("archive/version", b"3\n"), ("archive/data/0", floats3)], "no <archive>/data.pkl")
    add("os_system.pt", archive(b"\x80\x02cos\nsystem\nX\x08\x00\x00\x00echo pwnR."), "refused global 'os.system'")
    add("builtins_eval.pt", archive(b"\x80\x04\x8c\x08builtins\x8c\x04eval\x93\x8c\x011\x85R."),
        "refused global 'builtins.eval'", "STACK_GLOBAL")
    add("posix_system_inner.pt",
        archive(p_state_dict([("w", b"cposix\nsystem\n" + p_str("id") + b"\x85R")])),
        "refused global 'posix.system'")
    add("torch_other_global.pt", archive(p_state_dict([("w", b"ctorch\nload\n" + p_str("x") + b"\x85R")])),
        "refused global 'torch.load'")
    add("short_record.pt", archive(p_state_dict([("w", p_tensor(numel=3))]), [("0", floats3[:8])]),
        "archive/data/0", "record too short")
    add("huge_numel.pt", archive(p_state_dict([("w", p_tensor(numel=2 ** 61, size=(3,)))]), [("0", floats3)]),
        "record too short")
    add("missing_record.pt", archive(p_state_dict([("w", p_tensor(key="7"))]), [("0", floats3)]),
        "archive/data/7", "missing")
    add("stride_out_of_range.pt",
        archive(p_state_dict([("w", p_tensor(size=(2, 2), stride=(2, 1)))]), [("0", floats3)]),
        "reaches outside its storage")
    add("offset_out_of_range.pt", archive(p_state_dict([("w", p_tensor(offset=1))]), [("0", floats3)]),
        "reaches outside its storage")
    add("huge_stride.pt",
        archive(p_state_dict([("w", p_tensor(size=(2, 2), stride=(2 ** 62, 2 ** 62)))]), [("0", floats3)]),
        "reaches outside its storage")
    add("negative_offset.pt", archive(p_state_dict([("w", p_tensor(offset=-1))]), [("0", floats3)]),
        "negative storage offset")
    add("negative_size.pt", archive(p_state_dict([("w", p_tensor(size=(-1,)))]), [("0", floats3)]),
        "negative size")
    add("huge_expand.pt", archive(p_state_dict([("w", p_tensor(size=(2 ** 40,), stride=(0,)))]), [("0", floats3)]),
        "more than")
    add("size_stride_rank.pt", archive(p_state_dict([("w", p_tensor(size=(3,), stride=(1, 1)))]), [("0", floats3)]),
        "dimensions but stride has")
    add("bad_bool.pt", archive(p_state_dict([("w", p_tensor("BoolStorage", size=(3,)))]), [("0", b"\x00\x01\x02")]),
        "bool other than 0 or 1")
    add("garbage_opcode.pt", archive(b"\x80\x02\xff\xfe."), "unsupported pickle opcode", "0xff")
    add("inst_opcode.pt", archive(b"\x80\x02(ios\nsystem\nX\x02\x00\x00\x00idi."), "unsupported pickle opcode", "INST")
    add("truncated_pickle.pt", archive(p_state_dict([("w", p_tensor())])[:33], [("0", floats3)]),
        "pickle ends early")
    add("memo_missing.pt", archive(b"\x80\x02h\x05."), "memo index 5")
    add("stack_underflow.pt", archive(b"\x80\x02R."), "stack underflow")
    add("deep_stack.pt", archive(b"\x80\x02" + b"]" * 1_100_000 + b"."), "stack deeper than")
    add("self_list.pt", archive(b"\x80\x02]q\x00h\x00a."), "top-level object is a list")
    add("non_tensor_value.pt",
        archive(p_state_dict([("w", p_tensor()), ("epoch", p_int(3))]), [("0", floats3)]),
        "'epoch' is an int, not a tensor")
    add("duplicate_key.pt", archive(p_state_dict([("w", p_tensor()), ("w", p_tensor())]), [("0", floats3)]),
        "'w' appears twice")
    add("big_endian.pt", archive(p_state_dict([("w", p_tensor())]), [("0", floats3)],
                                  [("archive/byteorder", b"big")]), "big-endian")
    add("compressed.pt", archive(p_state_dict([("w", p_tensor())]), [("0", floats3)]), "compressed",
        compress=zipfile.ZIP_DEFLATED)
    add("int_key.pt", archive(b"\x80\x02}(K\x01" + p_tensor() + b"u.", [("0", floats3)]), "is an int, expected a str")
    add("huge_int.pt", archive(b"\x80\x02\x8a\x09" + b"\x01" * 9 + b"."), "too large")
    add("unknown_storage.pt", archive(p_state_dict([("w", p_tensor("ComplexFloatStorage"))]), [("0", floats3)]),
        "refused global 'torch.ComplexFloatStorage'")

    good = io.BytesIO()
    torch.save({"w": torch.arange(64, dtype=torch.float32)}, good)
    good = good.getvalue()
    add("truncated_zip.pt", good[: len(good) // 2], "truncated")
    corrupt = bytearray(good)
    pos = corrupt.find(struct.pack("<f", 33.0))
    corrupt[pos] ^= 0x55
    add("crc_corrupt.pt", bytes(corrupt), "CRC")

    with open(os.path.join(out, "hostile.json"), "w") as f:
        json.dump(cases, f, indent=1)


# --- checks of files written by C++ ---------------------------------------------------------

def fail(msg):
    print("MISMATCH:", msg)
    sys.exit(1)


def same_values(name, a, b):
    if a.dtype != b.dtype:
        fail("%s: dtype %s vs %s" % (name, a.dtype, b.dtype))
    if list(a.shape) != list(b.shape):
        fail("%s: shape %s vs %s" % (name, list(a.shape), list(b.shape)))
    if a.dtype.is_floating_point:
        if not torch.equal(torch.nan_to_num(a.double(), 1e300), torch.nan_to_num(b.double(), 1e300)):
            fail("%s: values differ" % name)
    elif not torch.equal(a, b):
        fail("%s: values differ" % name)


def check(path, manifest_path):
    with open(manifest_path) as f:
        manifest = json.load(f)
    for weights_only in (False, True):
        obj = torch.load(path, weights_only=weights_only)
        if manifest["kind"] == "tensor":
            if not isinstance(obj, torch.Tensor):
                fail("expected a tensor, got %s" % type(obj))
            items = [("", obj)]
        else:
            if type(obj) is not collections.OrderedDict:
                fail("expected an OrderedDict, got %s" % type(obj))
            items = list(obj.items())
        expected = manifest["entries"]
        if [k for k, _ in items] != [e["name"] for e in expected]:
            fail("names %s vs %s" % ([k for k, _ in items], [e["name"] for e in expected]))
        for (name, t), e in zip(items, expected):
            dtype = NAME_DTYPES[e["dtype"]]
            ref = torch.tensor(e["values"], dtype=torch.float64 if dtype.is_floating_point else torch.int64)
            ref = ref.to(dtype).reshape(e["shape"])
            same_values(name, t, ref)
            if not t.is_contiguous() and t.numel() > 1:
                fail("%s: not contiguous" % name)
    print("ok", path)


def compare(a_path, b_path):
    a, b = torch.load(a_path), torch.load(b_path)
    if isinstance(a, torch.Tensor):
        same_values("tensor", a, b)
    else:
        if list(a.keys()) != list(b.keys()):
            fail("keys %s vs %s" % (list(a.keys()), list(b.keys())))
        for k in a:
            same_values(k, a[k], b[k])
    if isinstance(a, dict) and "features.0.weight" in a:
        # The C++-written file must load into the module it came from (strict key match).
        net = TinyNet()
        net.load_state_dict(b, strict=True)
    print("ok", a_path, b_path)


def main(argv):
    if len(argv) == 3 and argv[1] == "fixtures":
        make_fixtures(argv[2])
    elif len(argv) == 3 and argv[1] == "hostile":
        make_hostile(argv[2])
    elif len(argv) >= 4 and len(argv) % 2 == 0 and argv[1] == "check":
        for f, m in zip(argv[2::2], argv[3::2]):
            check(f, m)
    elif len(argv) >= 4 and len(argv) % 2 == 0 and argv[1] == "compare":
        for a, b in zip(argv[2::2], argv[3::2]):
            compare(a, b)
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
