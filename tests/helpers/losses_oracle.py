#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Independent oracle for MProtoNet's loss terms, written from the text of docs/method.md#training (not
from the C++ code).

Generates fixed random inputs (seeded), computes every loss term and the gradients of the joint
and last-layer totals in float64 with PyTorch autograd, and writes everything as one dict of
tensors with torch.save (read on the C++ side with torch::pickle_load).

Usage: losses_oracle.py OUT_FILE
"""
import sys

import torch
import torch.nn.functional as F

B, P, C_FEAT, D_HEAD, N_CLASSES = 6, 6, 3, 5, 2
SPATIAL = (8, 8, 6)
MAX_DIST = 16.0  # m = D
SCALES = (0.75, 0.875)
COEF = dict(cls=1.0, cluster=0.8, separation=-0.08, mapping=0.5, online_cam=0.05, l1=0.01)
GAMMA = 2.0


def make_inputs():
    g = torch.Generator().manual_seed(20230704)
    inp = {}
    inp["logits"] = torch.randn(B, N_CLASSES, generator=g) * 2
    inp["labels"] = torch.tensor([0, 1, 1, 0, 1, 1], dtype=torch.int64)
    # "training set" class counts -> w_c = 1 / n_c
    inp["train_counts"] = torch.tensor([7, 23], dtype=torch.int64)
    inp["min_distances"] = torch.rand(B, P, generator=g) * 3
    identity = torch.zeros(P, N_CLASSES)
    identity[: P // 2, 0] = 1
    identity[P // 2:, 1] = 1
    inp["identity"] = identity
    inp["last_layer_weight"] = (identity.t() * 1.5 - 0.5) + 0.1 * torch.randn(N_CLASSES, P, generator=g)
    inp["features"] = torch.rand(B, C_FEAT, *SPATIAL, generator=g)
    inp["map_conv_weight"] = torch.randn(P, C_FEAT, 3, 3, 3, generator=g) * 0.3
    inp["h"] = torch.relu(torch.randn(B, D_HEAD, 40, generator=g))
    inp["head_conv_weight"] = torch.randn(P, D_HEAD, generator=g) * 0.5
    return {k: v.contiguous() for k, v in inp.items()}


def focal(logits, labels, w, gamma):
    """Class-weighted focal loss: sum_i w_{y_i} * focal_i / sum_i w_{y_i}."""
    p = torch.softmax(logits, dim=1)
    p_true = p[torch.arange(len(labels)), labels]
    per_sample = -((1 - p_true) ** gamma) * torch.log(p_true)
    wy = w[labels]
    return (wy * per_sample).sum() / wy.sum()


def cluster_separation(d, labels, identity, w, m):
    """docs/method.md#losses: t_i = w_{y_i} / sum_j w_{y_j}; cluster = sum_i t_i (m - max_own (m - d_ip));
    separation = the same over the other-class prototypes."""
    t = w[labels] / w[labels].sum()
    cluster, separation = 0.0, 0.0
    for i in range(d.shape[0]):
        own = identity[:, labels[i]] > 0
        cluster = cluster + t[i] * (m - (m - d[i][own]).max())
        separation = separation + t[i] * (m - (m - d[i][~own]).max())
    return cluster, separation


def occurrence(x, weight):
    """The fixed occurrence-map function M shared with the C++ test."""
    return torch.sigmoid(F.conv3d(x, weight, padding=1))


def rescale(t, s):
    return F.interpolate(t, scale_factor=s, mode="trilinear", align_corners=True)


def mapping(x, weight, s):
    maps = occurrence(x, weight)
    return (rescale(maps, s) - occurrence(rescale(x, s), weight)).abs().mean() + maps.abs().mean()


def online_cam(h, head_w, last_w, labels, w):
    n = h.shape[-1]
    pooled = (torch.logsumexp(10.0 * h, dim=-1) - torch.log(torch.tensor(float(n), dtype=h.dtype))) / 10.0
    logits = (pooled @ head_w.t()) @ last_w.t()
    return focal(logits, labels, w, GAMMA)


def main():
    out_file = sys.argv[1]
    inp = make_inputs()
    res = dict(inp)
    dd = {k: (v.double() if v.is_floating_point() else v) for k, v in inp.items()}
    labels, identity = dd["labels"], dd["identity"]
    w = 1.0 / dd["train_counts"].double()
    res["class_weights"] = w.float()

    # Self-checks of the oracle against PyTorch's own weighted losses.
    ce = F.cross_entropy(dd["logits"], labels, weight=w)
    assert torch.allclose(focal(dd["logits"], labels, w, 0.0), ce), "gamma 0 must be weighted CE"
    logp = F.log_softmax(dd["logits"], 1)
    ref = F.nll_loss((1 - logp.exp()) ** GAMMA * logp, labels, weight=w)
    assert torch.allclose(focal(dd["logits"], labels, w, GAMMA), ref)

    res["focal_gamma0"] = focal(dd["logits"], labels, w, 0.0)
    res["focal_unweighted"] = focal(dd["logits"], labels, torch.ones(2, dtype=torch.float64), GAMMA)

    for si, s in enumerate(SCALES):
        leaves = {k: dd[k].clone().requires_grad_(True)
                  for k in ["logits", "min_distances", "features", "map_conv_weight", "h",
                            "head_conv_weight", "last_layer_weight"]}
        cls = focal(leaves["logits"], labels, w, GAMMA)
        clst, sep = cluster_separation(leaves["min_distances"], labels, identity, w, MAX_DIST)
        mp = mapping(leaves["features"], leaves["map_conv_weight"], s)
        oc = online_cam(leaves["h"], leaves["head_conv_weight"], leaves["last_layer_weight"], labels, w)
        total = (COEF["cls"] * cls + COEF["cluster"] * clst + COEF["separation"] * sep
                 + COEF["mapping"] * mp + COEF["online_cam"] * oc)
        total.backward()
        sfx = f"_s{si}"
        res["scale" + sfx] = torch.tensor(s, dtype=torch.float64)
        for name, val in [("cls", cls), ("cluster", clst), ("separation", sep), ("mapping", mp),
                          ("online_cam", oc), ("total", total)]:
            res["joint_" + name + sfx] = val.detach()
        for k, v in leaves.items():
            res["joint_grad_" + k + sfx] = v.grad.detach()

    # Last-layer epoch: cls + 0.01 * ||W * (1 - identity^T)||_1
    logits = dd["logits"].clone().requires_grad_(True)
    last_w = dd["last_layer_weight"].clone().requires_grad_(True)
    cls = focal(logits, labels, w, GAMMA)
    l1 = (last_w * (1 - identity.t())).abs().sum()
    total = COEF["cls"] * cls + COEF["l1"] * l1
    total.backward()
    res["last_cls"], res["last_l1"], res["last_total"] = cls.detach(), l1.detach(), total.detach()
    res["last_grad_logits"], res["last_grad_last_layer_weight"] = logits.grad, last_w.grad

    torch.save({k: v.contiguous() for k, v in res.items()}, out_file)


if __name__ == "__main__":
    main()
