#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Python (Debian's PyTorch) baseline for bench_nets: the oracle's MProtoNet3D (tests/helpers/
oracle_models.py) on the same configuration. Prints one JSON line:
{"eval_forward_s": median, "train_step_s": median, "peak_rss_mb": ...}.
Usage: nets_baseline.py --size D H W [--runs R] [--threads T] [--model MProtoNet3D_pm5]"""
import json
import resource
import statistics
import time

import torch
import torch.nn.functional as F

from baseline_common import network, oracle_models, parse, parser

ap = parser()
ap.add_argument('--model', default='MProtoNet3D_pm5')
a = parse(ap)
cfg, net = network(a.size, a.model)
x1 = torch.randn(1, 4, *a.size)
x2 = torch.randn(2, 4, *a.size)
target = torch.tensor([0, 1])

net.eval()
ev = []
with torch.no_grad():
    net(x1)  # warm-up
    for _ in range(a.runs):
        t = time.perf_counter()
        net(x1)
        ev.append(time.perf_counter() - t)

net.train()
tr = []
for i in range(a.runs + 1):
    t = time.perf_counter()
    net.zero_grad(set_to_none=True)
    loss = F.cross_entropy(net(x2), target)
    loss.backward()
    if i > 0:
        tr.append(time.perf_counter() - t)
print(json.dumps(dict(eval_forward_s=statistics.median(ev), train_step_s=statistics.median(tr),
                      peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
