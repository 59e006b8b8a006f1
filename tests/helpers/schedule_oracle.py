#!/usr/bin/env python3
"""Oracle for the learning-rate schedule: runs PyTorch's own schedulers the way the MProtoNet
reference builds them (LambdaLR warm-up (e+1)/wu, then CosineAnnealingLR(T_max = E - wu), chained
with SequentialLR at milestone wu) and prints the learning rate in effect during each epoch.

Usage: schedule_oracle.py EPOCHS WARMUP BASE_LR  -> JSON list of E floats on stdout.
"""
import json
import sys
import warnings

import torch


def main():
    epochs, warmup, base_lr = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([param], lr=base_lr)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs - warmup)
    if warmup > 0:
        lam = torch.optim.lr_scheduler.LambdaLR(opt, lambda e: (e + 1) / warmup)
        sched = torch.optim.lr_scheduler.SequentialLR(opt, [lam, cosine], [warmup])
    else:
        sched = cosine
    lrs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(epochs):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
    print(json.dumps(lrs))


if __name__ == "__main__":
    main()
