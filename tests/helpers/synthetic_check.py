#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Independent checks of a synthetic cohort and of PNG files, used by tests/synthetic.

  synthetic_check.py cohort DIR X Y Z SPACING
      Reads DIR/name_mapping.csv with the csv module (grade first column, subject id last) and
      every NIfTI file with nibabel; checks shape, dtype, affine (BraTS-like LPS), label set,
      that images are non-negative with a zero background, that the four modalities share one
      brain mask (skull-stripped: non-zero exactly inside the brain), that the files agree with
      DIR/synthetic.json, and that the labels follow the grade: typical LGG never enhance,
      typical HGG have enhancing tumour and necrosis. Prints one JSON summary line.
  synthetic_check.py signal KIND TR TE TI CONTRAST T1 T2 PD GD
      The MR signal equation (data/mr_physics.h), written out independently: spin echo
      PD (1 - e^(-TR R1)) e^(-TE/T2), inversion recovery PD |1 - 2 e^(-TI R1) + e^(-TR R1)| e^(-TE/T2),
      R1 = 1/T1 (+ GD after contrast). Prints the value.
  synthetic_check.py csf_distance ANATOMY_DIR N SEED
      The atlas's CSF distance fields (data/anatomy.h) with SciPy's exact Euclidean distance
      transform: depth = distance to the nearest voxel outside the mask (mask < 128); deep CSF
      = CSF >= 128 inside the mask deeper than 12 mm, shallow CSF = the rest; prints N lines
      "x y z ventricle_mm sulcus_mm" at random voxel centres (world mm, from the NIfTI affine).
  synthetic_check.py png FILE
      Decodes an 8-bit RGB PNG with the standard library only (zlib + PNG filters) and prints
      {"width", "height", "pixels": [[r, g, b], ...]} for the first row and a checksum.
"""
import csv
import json
import os
import struct
import sys
import zlib


def fail(msg):
    print("synthetic_check: FAIL: " + msg)
    sys.exit(1)


def check_cohort(root, shape, spacing):
    import nibabel as nib
    import numpy as np

    with open(os.path.join(root, "name_mapping.csv"), newline="") as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    if header[0] != "Grade" or header[-1] != "BraTS_2020_subject_ID":
        fail("bad CSV header %r" % header)
    meta = json.load(open(os.path.join(root, "synthetic.json")))
    if not meta.get("complete"):
        fail("synthetic.json is not marked complete")
    if len(meta["cases"]) != len(rows):
        fail("CSV has %d rows, synthetic.json %d cases" % (len(rows), len(meta["cases"])))
    expected_affine = np.array([[-spacing, 0, 0, 0],
                                [0, -spacing, 0, (shape[1] - 1) * spacing],
                                [0, 0, spacing, 0],
                                [0, 0, 0, 1]])
    summary = {"cases": 0, "hgg": 0, "files": 0}
    for row, case in zip(rows, meta["cases"]):
        grade, sid = row[0], row[-1]
        if grade not in ("HGG", "LGG"):
            fail("grade %r for %s" % (grade, sid))
        if sid != case["subject_id"] or grade != case["grade"]:
            fail("CSV row %r disagrees with synthetic.json %r" % (row, case["subject_id"]))
        if any(x != "NA" for x in row[1:-1]):
            fail("unknown ids must be NA in %r" % row)
        summary["cases"] += 1
        summary["hgg"] += grade == "HGG"
        seg = None
        masks = []
        for m in ("t1", "t1ce", "t2", "flair", "seg"):
            path = os.path.join(root, sid, "%s_%s.nii.gz" % (sid, m))
            img = nib.load(path)
            summary["files"] += 1
            if tuple(img.shape) != tuple(shape):
                fail("%s: shape %s, expected %s" % (path, img.shape, shape))
            want = np.uint8 if m == "seg" else np.int16
            if img.get_data_dtype() != want:
                fail("%s: dtype %s, expected %s" % (path, img.get_data_dtype(), np.dtype(want)))
            if not np.allclose(img.affine, expected_affine, atol=1e-4):
                fail("%s: affine\n%s\nexpected\n%s" % (path, img.affine, expected_affine))
            if nib.aff2axcodes(img.affine) != ("L", "P", "S"):
                fail("%s: orientation %s, expected LPS as BraTS" % (path, nib.aff2axcodes(img.affine)))
            data = np.asanyarray(img.dataobj)
            if m == "seg":
                seg = data
                labels = set(np.unique(data).tolist())
                if not labels <= {0, 1, 2, 4}:
                    fail("%s: labels %s" % (path, sorted(labels)))
                for lab in (1, 2, 4):
                    if int((data == lab).sum()) != case["label_voxels"][str(lab)]:
                        fail("%s: label %d count %d, synthetic.json says %d"
                             % (path, lab, int((data == lab).sum()), case["label_voxels"][str(lab)]))
            else:
                if data.min() < 0:
                    fail("%s: negative intensity %d" % (path, data.min()))
                corner = data[:3, :3, :3]
                if corner.any():
                    fail("%s: background is not 0" % path)
                masks.append(data > 0)
        for m, mask in zip(("t1ce", "t2", "flair"), masks[1:]):
            if (mask != masks[0]).any():
                fail("%s: %s is non-zero on %d voxels where t1 is not (or the reverse): not one brain mask"
                     % (sid, m, int((mask != masks[0]).sum())))
        brain = masks[0]
        if ((seg > 0) & ~brain).any():
            fail("%s: tumour labels outside the brain" % sid)
        check_labels(sid, case, seg)
    print(json.dumps(summary))


def check_labels(sid, case, seg):
    n = {lab: int((seg == lab).sum()) for lab in (1, 2, 4)}
    if case["grade"] == "LGG" and not case["atypical"] and n[4] > 0:
        fail("%s: typical LGG with %d enhancing voxels" % (sid, n[4]))
    if case["grade"] == "HGG" and not case["atypical"] and (n[4] == 0 or n[1] == 0):
        fail("%s: typical HGG needs enhancing tumour and necrosis, has %s" % (sid, n))
    if n[1] + n[4] + n[2] == 0:
        fail("%s: no tumour" % sid)


def signal(kind, tr, te, ti, contrast, t1, t2, pd, gd):
    import math

    r1 = 1.0 / t1 + (gd if contrast else 0.0)
    decay = math.exp(-te / t2)
    if kind == "se":
        return pd * (1 - math.exp(-tr * r1)) * decay
    return pd * abs(1 - 2 * math.exp(-ti * r1) + math.exp(-tr * r1)) * decay


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def read_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail("%s: not a PNG signature" % path)
    pos, idat, width, height = 8, b"", None, None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        ctype = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        if zlib.crc32(ctype + body) & 0xFFFFFFFF != crc:
            fail("%s: bad CRC in chunk %r" % (path, ctype))
        if ctype == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or colour != 2 or interlace != 0:
                fail("%s: expected 8-bit RGB non-interlaced, got depth %d colour %d" % (path, depth, colour))
        elif ctype == b"IDAT":
            idat += body
        elif ctype == b"IEND":
            break
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * 3
    rows, prev, p = [], bytearray(stride), 0
    for _ in range(height):
        ftype, line = raw[p], bytearray(raw[p + 1:p + 1 + stride])
        p += 1 + stride
        for x in range(stride):
            a = line[x - 3] if x >= 3 else 0
            b = prev[x]
            c = prev[x - 3] if x >= 3 else 0
            if ftype == 1:
                line[x] = (line[x] + a) & 255
            elif ftype == 2:
                line[x] = (line[x] + b) & 255
            elif ftype == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif ftype == 4:
                line[x] = (line[x] + paeth(a, b, c)) & 255
            elif ftype != 0:
                fail("%s: unknown filter %d" % (path, ftype))
        rows.append(bytes(line))
        prev = line
    return width, height, rows


def check_png(path):
    width, height, rows = read_png(path)
    pixels = [[list(r[3 * x:3 * x + 3]) for x in range(width)] for r in rows]
    print(json.dumps({"width": width, "height": height, "pixels": pixels}))


def csf_distance(anatomy, n, seed):
    import nibabel
    import numpy
    from scipy import ndimage

    csf_img = nibabel.load(os.path.join(anatomy, "csf.nii.gz"))
    csf = numpy.asarray(csf_img.dataobj)
    mask = numpy.asarray(nibabel.load(os.path.join(anatomy, "mask.nii.gz")).dataobj)
    inside = mask >= 128
    depth = ndimage.distance_transform_edt(inside)
    is_csf = (csf >= 128) & inside
    deep = is_csf & (depth > 12.0)
    shallow = is_csf & (depth <= 12.0)
    ventricle = ndimage.distance_transform_edt(~deep)
    sulcus = ndimage.distance_transform_edt(~shallow)
    rng = numpy.random.default_rng(seed)
    # Half the points near the CSF (where the fields matter), half anywhere.
    near = numpy.argwhere((ventricle < 8) | (sulcus < 3))
    picks = [near[rng.integers(len(near))] for _ in range(n // 2)]
    picks += [numpy.array([rng.integers(d) for d in csf.shape]) for _ in range(n - n // 2)]
    for ijk in picks:
        x, y, z = csf_img.affine[:3, :3] @ ijk + csf_img.affine[:3, 3]
        print("%.6f %.6f %.6f %.6f %.6f" % (x, y, z, ventricle[tuple(ijk)], sulcus[tuple(ijk)]))


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "cohort" and len(sys.argv) == 7:
        check_cohort(sys.argv[2], [int(v) for v in sys.argv[3:6]], float(sys.argv[6]))
    elif len(sys.argv) == 3 and sys.argv[1] == "png":
        check_png(sys.argv[2])
    elif len(sys.argv) == 11 and sys.argv[1] == "signal":
        v = [float(x) for x in sys.argv[3:]]
        print("%.12g" % signal(sys.argv[2], v[0], v[1], v[2], v[3] != 0, v[4], v[5], v[6], v[7]))
    elif len(sys.argv) == 5 and sys.argv[1] == "csf_distance":
        csf_distance(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        fail("usage: synthetic_check.py cohort DIR X Y Z SPACING | png FILE | csf_distance DIR N SEED | signal KIND TR TE TI CONTRAST T1 T2 PD GD")


if __name__ == "__main__":
    main()
