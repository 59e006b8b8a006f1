#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Oracle for engines/grad_scaler.h: PyTorch's own torch.amp.GradScaler (on the CPU, PyTorch 2.x of
the project's virtual environment) driving SGD on a loss sum(p * c_t) with given coefficients c_t,
some of them inf or NaN (an overflowing fp16 backward), growth interval 3.

usage: grad_scaler_oracle.py OUT.json
Writes {"init_scale", "growth_interval", "params0", "steps": [{"coef", "scale", "tracker", "params"}]}
where scale, tracker and params are the state after the step.
"""
import json
import math
import sys

import torch


def main():
    torch.manual_seed(3)
    p = torch.nn.Parameter(torch.randn(5, dtype=torch.float32))
    params0 = p.detach().tolist()
    opt = torch.optim.SGD([p], lr=0.1)
    scaler = torch.amp.GradScaler('cpu', init_scale=1024.0, growth_interval=3)
    inf, nan = math.inf, math.nan
    coefs = []
    for t in range(12):
        c = torch.randn(5).tolist()
        if t in (2, 7):
            c[1] = inf
        if t == 8:
            c[4] = nan
        coefs.append(c)
    steps = []
    for c in coefs:
        opt.zero_grad()
        loss = (p * torch.tensor(c)).sum()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        steps.append(dict(coef=[str(x) for x in c], scale=scaler.get_scale(),
                          tracker=int(scaler._growth_tracker.item()), params=p.detach().tolist()))
    with open(sys.argv[1], 'w') as f:
        json.dump(dict(init_scale=1024.0, growth_interval=3, params0=params0, steps=steps), f)


if __name__ == '__main__':
    main()
