#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Python (Debian's PyTorch) baseline for bench_eval: the deletion + addition curves of docs/method.md#metrics
for one case with the oracle's MProtoNet3D_pm5 (tests/helpers/oracle_models.py), the 2 x 51
perturbed inputs evaluated one by one (evaluation mode, no gradients), for the case's MProtoNet
map. Written from docs/method.md. Prints one JSON line: {"curves_one_by_one_s": median, ...}.
Usage: eval_baseline.py --size D H W [--runs R] [--threads T] [--steps 50]"""
import json
import resource
import statistics
import time

import torch

from baseline_common import network, oracle_models, parse, parser

ap = parser()
ap.add_argument('--steps', type=int, default=50)
a = parse(ap)
cfg, net = network(a.size)
net.eval()
x = torch.randn(1, 4, *a.size)
with torch.no_grad():
    pred = net(x).argmax(1)
    avg = oracle_models.upsample(net.map_explanation(x, pred), x)[0].mean(0).double()
q = torch.linspace(1, 0, a.steps + 1, dtype=torch.float64)
thresholds = torch.quantile(avg.flatten(), q)


def curves():
    out = []
    with torch.no_grad():
        for deletion in (True, False):
            for i, t in enumerate(thresholds):
                if i == 0:
                    xi = x if deletion else torch.zeros_like(x)
                else:
                    mask = (avg >= t).float()
                    xi = x * (1 - mask) if deletion else x * mask
                out.append(net(xi).argmax(1).item())
    return out


curves()  # warm-up
times = []
for _ in range(a.runs):
    t0 = time.perf_counter()
    curves()
    times.append(time.perf_counter() - t0)
print(json.dumps(dict(curves_one_by_one_s=statistics.median(times),
                      peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
