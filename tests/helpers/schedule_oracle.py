#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Oracle for the learning-rate schedule: runs PyTorch's own schedulers the way the MProtoNet
reference builds them (LambdaLR warm-up (e+1)/wu, then CosineAnnealingLR(T_max = E - wu), chained
with SequentialLR at milestone wu; plain CosineAnnealingLR when wu = 0) and prints the learning
rate in effect during each epoch.

Usage: schedule_oracle.py BASE_LR E1:W1 [E2:W2 ...]
  -> JSON object {"E1:W1": [lr of epoch 0, ..., lr of epoch E1-1], ...} on stdout.
"""
import json
import sys
import warnings

import torch


def schedule(epochs, warmup, base_lr):
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([param], lr=base_lr)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs - warmup)
    if warmup > 0:
        lam = torch.optim.lr_scheduler.LambdaLR(opt, lambda e: (e + 1) / warmup)
        sched = torch.optim.lr_scheduler.SequentialLR(opt, [lam, cosine], [warmup])
    else:
        sched = cosine
    lrs = []
    for _ in range(epochs):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


def main():
    base_lr = float(sys.argv[1])
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for spec in sys.argv[2:]:
            epochs, warmup = (int(v) for v in spec.split(":"))
            out[spec] = schedule(epochs, warmup, base_lr)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
