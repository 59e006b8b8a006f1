#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Checks that a state_dict exported by `mprotonet export` loads with torch.load and equals the
original one: same keys, dtypes, shapes and values. Usage: nets_compare_state.py ORIGINAL EXPORTED"""
import sys

import torch

a = torch.load(sys.argv[1])
b = torch.load(sys.argv[2])
if set(a) != set(b):
    sys.exit(f"keys differ: only original {sorted(set(a) - set(b))}, only exported {sorted(set(b) - set(a))}")
for k in a:
    if a[k].dtype != b[k].dtype or a[k].shape != b[k].shape or not torch.equal(a[k], b[k]):
        sys.exit(f"tensor {k} differs")
print(f"ok {len(a)} tensors")
