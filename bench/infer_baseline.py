#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Python (Debian's PyTorch) baseline for bench_infer: one case through the oracle's
MProtoNet3D_pm5 (tests/helpers/oracle_models.py) in evaluation mode, as a Python user of the
authors' code gets each output: a forward pass for the probabilities, then one call per map
(the MProtoNet map, GradCAM) for the predicted class. Written from docs/method.md.
Prints one JSON line with medians: {"probabilities_s", "mprotonet_s", "gradcam_s", "peak_rss_mb"}
where mprotonet_s = probabilities + MProtoNet map and gradcam_s = that + GradCAM.
Usage: infer_baseline.py --size D H W [--runs R] [--threads T]"""
import json
import resource
import statistics
import time

import torch

from baseline_common import network, oracle_models, parse, parser

a = parse(parser())
cfg, net = network(a.size)
net.eval()
x = torch.randn(1, 4, *a.size)


def run(level):
    with torch.no_grad():
        prob = torch.softmax(net(x), 1)
        pred = prob.argmax(1)
        if level >= 1:
            oracle_models.upsample(net.map_explanation(x, pred), x)
    if level >= 2:
        oracle_models.gradcam(net, x, pred)


res = {}
run(2)  # warm-up
for level, key in enumerate(('probabilities_s', 'mprotonet_s', 'gradcam_s')):
    times = []
    for _ in range(a.runs):
        t = time.perf_counter()
        run(level)
        times.append(time.perf_counter() - t)
    res[key] = statistics.median(times)
res['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(res))
