#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Independent PyTorch oracle for Guided backpropagation, Deconvolution, Guided GradCAM and
Occlusion (docs/method.md#explanations), on the models of oracle_models.py (same seeds and cases).

Written the way the reference gets them from captum: the rule replaces the backward of every
nn.ReLU *module* (here: each module's forward is swapped for a custom autograd Function), while
functional relus (distances, similarities, soft masking) keep their ordinary gradient. Occlusion
is a direct loop over captum's window positions: per axis ceil((n - w) / s) + 1 windows starting
at i * s and clipped at the border, channel window 1, baseline 0, attribution = mean over the
covering windows of (unoccluded target logit - occluded target logit).

Writes for each case <out>/<case>.state.pt, <case>.config.json and <case>.attr.pt (a plain dict:
input, target, guided, deconvolution, guided_gradcam, occlusion, logits), then <out>/done.
Usage: eval_attribution_oracle.py OUT_DIR [--cases a,b]
"""
import argparse
import json
import math
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle_models as om  # noqa: E402

torch.set_num_threads(2)

# Occlusion (300 forwards per sample) only where it adds coverage: a CNN and a map model.
OCCLUSION_CASES = ['cnn_r18', 'pm2_r18_l2lin']
CASES = ['cnn_r18', 'cnn_r50_l5', 'pm0_r18_cos', 'pm1_r18_cos', 'pm2_r18_l2lin', 'pm3_r50_l2', 'pm5_r18_l2']


class RuleRelu(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, guided):
        out = x.clamp_min(0)
        ctx.save_for_backward(out)
        ctx.guided = guided
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        g = g.clamp_min(0)
        if ctx.guided:
            g = g * (out > 0).to(g.dtype)
        return g, None


def rule_gradient(net, x, target, guided):
    relus = [m for m in net.modules() if isinstance(m, nn.ReLU)]
    for m in relus:
        m.forward = (lambda inp, _g=guided: RuleRelu.apply(inp, _g))
    try:
        xi = x.clone().requires_grad_(True)
        logits = net(xi)
        g, = torch.autograd.grad(logits[torch.arange(x.shape[0]), target].sum(), xi)
    finally:
        for m in relus:
            del m.forward
    return g


def windows(n, w, s):
    w = min(w, n)
    return [(i * s, min(i * s + w, n)) for i in range(math.ceil((n - w) / s) + 1)]


def occlusion(net, x, target, w=11, s=5):
    out = torch.zeros_like(x)
    with torch.no_grad():
        for b in range(x.shape[0]):
            xb = x[b:b + 1]
            t = int(target[b])
            base = net(xb)[0, t]
            total = torch.zeros_like(xb[0])
            count = torch.zeros_like(xb[0])
            for c in range(x.shape[1]):
                boxes = [(a, bb, cc) for a in windows(x.shape[2], w, s) for bb in windows(x.shape[3], w, s)
                         for cc in windows(x.shape[4], w, s)]
                batch = xb.repeat(len(boxes), 1, 1, 1, 1)
                for i, (a, bb, cc) in enumerate(boxes):
                    batch[i, c, a[0]:a[1], bb[0]:bb[1], cc[0]:cc[1]] = 0
                vals = net(batch)[:, t]
                for i, (a, bb, cc) in enumerate(boxes):
                    total[c, a[0]:a[1], bb[0]:bb[1], cc[0]:cc[1]] += base - vals[i]
                    count[c, a[0]:a[1], bb[0]:bb[1], cc[0]:cc[1]] += 1
            out[b] = total / count
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out')
    ap.add_argument('--cases', default=','.join(CASES))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name in args.cases.split(','):
        cfg, net, x = om.make_case(name, 200 + CASES.index(name) if name in CASES else 299)
        target = torch.tensor([1, 0])
        with torch.no_grad():
            logits = net(x)
        guided = rule_gradient(net, x, target, True)
        res = dict(input=x, target=target, logits=logits, guided=guided,
                   deconvolution=rule_gradient(net, x, target, False),
                   guided_gradcam=guided * om.gradcam(net, x, target))
        if name in OCCLUSION_CASES:
            res['occlusion'] = occlusion(net, x, target)
        torch.save(res, os.path.join(args.out, f'{name}.attr.pt'))
        torch.save(dict(net.state_dict()), os.path.join(args.out, f'{name}.state.pt'))
        with open(os.path.join(args.out, f'{name}.config.json'), 'w') as f:
            json.dump(cfg, f)
    open(os.path.join(args.out, 'done'), 'w').close()


if __name__ == '__main__':
    main()
