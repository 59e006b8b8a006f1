#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Python (Debian's PyTorch) baseline for bench_train: one joint-epoch training step of the
oracle's MProtoNet3D (tests/helpers/oracle_models.py) with every loss term of docs/method.md#training (focal
classification, cluster, separation, mapping, online-CAM) and the AdamW update, as the authors'
code does it. Written from docs/method.md, not from the C++ code.
Prints one JSON line: {"step_s": median, "peak_rss_mb": ..., "loss": first step's total}.
Usage: train_baseline.py --size D H W --batch B [--runs R] [--threads T] [--precision fp32|bf16]
       [--model MProtoNet3D_pm5|CNN3D]"""
import json
import random
import resource
import statistics
import time

import torch
import torch.nn.functional as F

from baseline_common import network, oracle_models, parse, parser

ap = parser()
ap.add_argument('--batch', type=int, default=2)
ap.add_argument('--precision', choices=('fp32', 'bf16'), default='fp32')
ap.add_argument('--model', default='MProtoNet3D_pm5')
a = parse(ap)
random.seed(0)
proto = a.model.startswith('MProtoNet')
cfg, net = network(a.size, a.model)
x = torch.randn(a.batch, 4, *a.size)
y = torch.arange(a.batch) % 2
w = torch.tensor([1 / 32, 1 / 48])  # w_c = 1 / n_c of a 32 LGG / 48 HGG training set


def focal(logits, labels, gamma=2.0):
    logp = F.log_softmax(logits, 1)
    return F.nll_loss((1 - logp.exp()) ** gamma * logp, labels, weight=w)


def lse_pool(h, r=10.0):
    return (torch.logsumexp(r * h, dim=-1) - torch.log(torch.tensor(float(h.shape[-1])))) / r


if proto:
    for p in net.last_layer.parameters():
        p.requires_grad_(False)  # joint epochs do not train the last layer
    body = [p for m in (net.features, net.add_ons, net.p_map) for p in m.parameters()]
    opt = torch.optim.AdamW([dict(params=body, weight_decay=1e-2),
                             dict(params=[net.prototype_vectors], weight_decay=0.0)], lr=1e-3)
else:
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-2)
m_dist = float(torch.tensor(cfg['prototype_shape'][1:]).prod())


def step():
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=a.precision == 'bf16'):
        if not proto:
            return focal(net(x).float(), y)
        feats = net.features(x)
        f = net.add_ons(feats)
        maps = net.maps(feats)
        g = (maps.flatten(2) @ f.flatten(2).transpose(1, 2)) / f.flatten(2).shape[2]
        d = net.pooled_dist(g.float()).float()
        logits = net.last_layer(net.similarity(d)).float()
        cls = focal(logits, y)
        t = w[y] / w[y].sum()
        own = net.prototype_class_identity[:, y].t()  # [B, P]
        cluster = (t * (m_dist - ((m_dist - d) * own).max(1)[0])).sum()
        separation = (t * (m_dist - ((m_dist - d) * (1 - own)).max(1)[0])).sum()
        s = random.choice((0.75, 0.875))
        rescale = lambda v: F.interpolate(v, scale_factor=s, mode='trilinear', align_corners=True)  # noqa: E731
        mapping = (rescale(maps) - net.maps(rescale(feats))).abs().mean() + maps.abs().mean()
        h = net.p_map[:3](feats).flatten(2)
        cam_logits = net.last_layer(lse_pool(h.float()) @ net.p_map[3].weight.flatten(1).t().float())
        online_cam = focal(cam_logits.float(), y)
        return cls + 0.8 * cluster - 0.08 * separation + 0.5 * mapping + 0.05 * online_cam


net.train()
times, fwd, bwd, upd, first = [], [], [], [], None
for i in range(a.runs + 1):  # the first step warms up
    t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    loss = step()
    t1 = time.perf_counter()
    loss.backward()
    t2 = time.perf_counter()
    opt.step()
    if first is None:
        first = loss.item()
    if i > 0:
        times.append(time.perf_counter() - t0)
        fwd.append(t1 - t0)
        bwd.append(t2 - t1)
        upd.append(times[-1] - (t2 - t0))
print(json.dumps(dict(step_s=statistics.median(times), forward_loss_s=statistics.median(fwd),
                      backward_s=statistics.median(bwd), optimizer_s=statistics.median(upd), loss=first,
                      peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
