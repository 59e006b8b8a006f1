#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Independent PyTorch oracle for the nets tests, written from docs/method.md (#networks, #explanations, #checkpoints).

Builds CNN3D and MProtoNet3D (p_mode 0-5) with a seed, perturbs every BatchNorm's running
statistics and affine parameters so evaluation mode is not an identity, and writes for each case:
  <out>/<case>.config.json   reference-keyword configuration
  <out>/<case>.state.pt      the state_dict (torch.save(net.state_dict()), or a plain dict
                             with --plain-dicts)
  <out>/<case>.fixture.pt    plain dict: input, target, logits, probabilities, predicted,
                             map_mprotonet (prototype models), map_gradcam
  <out>/<case>.input.pt      the input tensor alone (torch.save(tensor))
  <out>/<case>.broken.pt     state_dict with last_layer.weight missing, extra_head.weight
                             unexpected and features.conv1.weight misshaped
  <out>/<case>.keys.json     the state_dict keys in order
  <out>/cases.json           the case names
Usage: oracle_models.py OUT_DIR [--cases a,b] [--plain-dicts]
"""
import argparse
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(2)

# ----------------------------------------------------------------------------- backbone (5.1)
BACKBONES = {
    'resnet18_ri': ('basic', [2, 2, 2, 2]),
    'resnet34_ri': ('basic', [3, 4, 6, 3]),
    'resnet50_ri': ('bottleneck', [3, 4, 6, 3]),
    'resnet101_ri': ('bottleneck', [3, 4, 23, 3]),
    'resnet152_ri': ('bottleneck', [3, 8, 36, 3]),
}


def conv3(cin, cout, k, stride=1, padding=0):
    return nn.Conv3d(cin, cout, k, stride=stride, padding=padding, bias=False)


class Basic(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = conv3(cin, planes, 3, stride, 1)
        self.bn1 = nn.BatchNorm3d(planes)
        self.relu = nn.ReLU()
        self.conv2 = conv3(planes, planes, 3, 1, 1)
        self.bn2 = nn.BatchNorm3d(planes)
        self.downsample = None
        if stride != 1 or cin != planes:
            self.downsample = nn.Sequential(conv3(cin, planes, 1, stride), nn.BatchNorm3d(planes))

    def forward(self, x):
        skip = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(y)) + skip)


class Bottle(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = conv3(cin, planes, 1)
        self.bn1 = nn.BatchNorm3d(planes)
        self.conv2 = conv3(planes, planes, 3, stride, 1)
        self.bn2 = nn.BatchNorm3d(planes)
        self.conv3 = conv3(planes, planes * 4, 1)
        self.bn3 = nn.BatchNorm3d(planes * 4)
        self.relu = nn.ReLU()
        self.downsample = None
        if stride != 1 or cin != planes * 4:
            self.downsample = nn.Sequential(conv3(cin, planes * 4, 1, stride), nn.BatchNorm3d(planes * 4))

    def forward(self, x):
        skip = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        return self.relu(self.bn3(self.conv3(y)) + skip)


def backbone(name, n_layers, in_ch):
    kind, counts = BACKBONES[name]
    block = Basic if kind == 'basic' else Bottle
    children = [('conv1', conv3(in_ch, 64, 7, 2, 3)), ('bn1', nn.BatchNorm3d(64)),
                ('relu', nn.ReLU()), ('maxpool', nn.MaxPool3d(3, 2, 1))]
    cin = 64
    for i, (planes, n) in enumerate(zip([64, 128, 256, 512], counts)):
        blocks = []
        for b in range(n):
            blocks.append(block(cin, planes, (1 if i == 0 else 2) if b == 0 else 1))
            cin = planes * block.expansion
        children.append((f'layer{i + 1}', nn.Sequential(*blocks)))
    seq = nn.Sequential()
    for name_, m in children[:n_layers]:
        seq.add_module(name_, m)
    channels = [m for m in seq.modules() if isinstance(m, nn.BatchNorm3d)][-1].num_features
    return seq, channels


def kaiming(module):
    for m in module.modules():
        if isinstance(m, nn.Conv3d):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')



# --------------------------------------------------------------------------- CNN3D (5.2)
class CNN(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.features, c = backbone(cfg['features'], cfg['n_layers'], cfg['in_size'][0])
        self.add_ons = nn.Sequential(conv3(c, 128, 1), nn.BatchNorm3d(128), nn.ReLU(),
                                     conv3(128, 128, 1), nn.BatchNorm3d(128), nn.ReLU(),
                                     nn.AdaptiveAvgPool3d(1), nn.Flatten(1))
        self.fc = nn.Linear(128, cfg['out_size'], bias=False)
        kaiming(self)

    def forward(self, x):
        return self.fc(self.add_ons(self.features(x)))


# ------------------------------------------------------------------ MProtoNet3D (5.3)
class Proto(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.p_mode = int(cfg['model_name'][-1])
        self.f_dist = cfg['f_dist']
        self.act = cfg.get('prototype_activation_function', 'log')
        P, D = cfg['prototype_shape'][:2]
        K = cfg['out_size']
        ident = torch.zeros(P, K)
        for j in range(P):
            ident[j, j // (P // K)] = 1
        self.prototype_class_identity = nn.Parameter(ident, requires_grad=False)
        self.features, c = backbone(cfg['features'], cfg['n_layers'], cfg['in_size'][0])
        self.add_ons = nn.Sequential(conv3(c, D, 1), nn.BatchNorm3d(D), nn.ReLU(),
                                     conv3(D, D, 1), nn.BatchNorm3d(D), nn.Sigmoid())
        self.prototype_vectors = nn.Parameter(torch.rand(P, D, 1, 1, 1))
        self.ones = nn.Parameter(torch.ones(P, D, 1, 1, 1), requires_grad=False)
        if self.p_mode >= 2:
            self.p_map = nn.Sequential(conv3(c, D, 1), nn.BatchNorm3d(D), nn.ReLU(),
                                       conv3(D, P, 1), nn.BatchNorm3d(P), nn.Sigmoid())
        self.last_layer = nn.Linear(P, K, bias=False)
        kaiming(self)
        with torch.no_grad():
            own = ident.t()
            self.last_layer.weight.copy_(own - 0.5 * (1 - own))
        self.k = None
        if self.p_mode >= 1:
            with torch.no_grad():
                n = self.features(torch.zeros(1, *cfg['in_size'])).flatten(2).shape[2]
            self.k = int(n * cfg['topk_p'] / 100)

    def maps(self, x):
        if self.p_mode in (3, 5):
            m = F.relu(self.p_map[:5](x))
            lo = m.flatten(1).min(1)[0].view(-1, 1, 1, 1, 1)
            m = m - lo
            hi = m.flatten(1).max(1)[0].view(-1, 1, 1, 1, 1).clamp_min(1e-4)
            return torch.sigmoid(10 * (m / hi - 0.5))
        return self.p_map(x)

    def voxel_dist(self, f):
        # f: [B, D, d, h, w]; prototypes: [P, D]
        p = self.prototype_vectors.flatten(1)
        if self.f_dist == 'cos':
            fu = f / f.norm(dim=1, keepdim=True).clamp_min(1e-12)
            pu = p / p.norm(dim=1, keepdim=True).clamp_min(1e-12)
            return F.relu(1 - torch.einsum('bcxyz,pc->bpxyz', fu, pu))
        d = (f ** 2).sum(1, keepdim=True) - 2 * torch.einsum('bcxyz,pc->bpxyz', f, p) \
            + (p ** 2).sum(1).view(1, -1, 1, 1, 1)
        return d.clamp_min(0)

    def pooled_dist(self, g):
        # g: [B, P, D]
        p = self.prototype_vectors.flatten(1)
        if self.f_dist == 'cos':
            gu = g / g.norm(dim=2, keepdim=True).clamp_min(1e-12)
            pu = p / p.norm(dim=1, keepdim=True).clamp_min(1e-12)
            return F.relu(1 - (gu * pu).sum(2))
        return ((g ** 2).sum(2) - 2 * (g * p).sum(2) + (p ** 2).sum(1)).clamp_min(0)

    def similarity(self, d):
        if self.f_dist == 'cos':
            return F.relu(1 - d)
        if self.act == 'log':
            return torch.log((d + 1) / (d + 1e-4))
        return -d

    def parts(self, x):
        x = self.features(x)
        f = self.add_ons(x)
        if self.p_mode >= 2:
            m = self.maps(x)
            g = (m.flatten(2) @ f.flatten(2).transpose(1, 2)) / f.flatten(2).shape[2]
            return f, m, self.pooled_dist(g)
        return f, None, self.voxel_dist(f)

    def forward(self, x):
        _, _, d = self.parts(x)
        if self.p_mode >= 2:
            md = d
        elif self.p_mode == 1:
            md = d.flatten(2).sort(2)[0][:, :, :self.k].mean(2)
        else:
            md = d.flatten(2).min(2)[0]
        return self.last_layer(self.similarity(md))

    def map_explanation(self, x, target):
        f, m, d = self.parts(x)
        maps = m if self.p_mode >= 2 else self.similarity(d)
        own = self.prototype_class_identity[:, target].t()  # [B, P]
        return (maps * own[:, :, None, None, None]).sum(1, keepdim=True) / maps.shape[1]


# ------------------------------------------------------------------------ docs/method.md#explanations maps
def upsample(a, x):
    a = F.interpolate(a, size=x.shape[2:], mode='trilinear', align_corners=False)
    return a.repeat(1, x.shape[1], 1, 1, 1)


def gradcam(net, x, target):
    conv = [m for m in net.modules() if isinstance(m, nn.Conv3d)][-1]
    store = {}
    h = conv.register_forward_hook(lambda m, i, o: store.__setitem__('a', o))
    logits = net(x)
    h.remove()
    a = store['a']
    g, = torch.autograd.grad(logits[torch.arange(x.shape[0]), target].sum(), a)
    cam = F.relu((g.mean((2, 3, 4), keepdim=True) * a).sum(1, keepdim=True))
    return upsample(cam.detach(), x)


def perturb_batchnorm(net, gen):
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm3d):
                n = m.num_features
                m.weight.copy_(0.5 + torch.rand(n, generator=gen))
                m.bias.copy_(0.1 * torch.randn(n, generator=gen))
                m.running_mean.copy_(0.1 * torch.randn(n, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(n, generator=gen))
                m.num_batches_tracked.fill_(int(torch.randint(1, 1000, (1,), generator=gen)))


SMALL = [4, 32, 32, 24]
CASES = {
    'cnn_r18': dict(model_name='CNN3D', features='resnet18_ri', n_layers=6),
    'cnn_r50_l5': dict(model_name='CNN3D', features='resnet50_ri', n_layers=5),
    'pm0_r18_cos': dict(model_name='MProtoNet3D_pm0', features='resnet18_ri', n_layers=6, f_dist='cos'),
    'pm0_r18_l2': dict(model_name='MProtoNet3D_pm0', features='resnet18_ri', n_layers=6, f_dist='l2'),
    'pm1_r18_cos': dict(model_name='MProtoNet3D_pm1', features='resnet18_ri', n_layers=6, f_dist='cos', topk_p=5),
    'pm1_r50_l2': dict(model_name='MProtoNet3D_pm1', features='resnet50_ri', n_layers=6, f_dist='l2', topk_p=5),
    'pm2_r18_cos': dict(model_name='MProtoNet3D_pm2', features='resnet18_ri', n_layers=6, f_dist='cos'),
    'pm2_r18_l2lin': dict(model_name='MProtoNet3D_pm2', features='resnet18_ri', n_layers=6, f_dist='l2',
                          prototype_activation_function='linear'),
    'pm3_r50_l2': dict(model_name='MProtoNet3D_pm3', features='resnet50_ri', n_layers=6, f_dist='l2'),
    'pm4_r18_cos': dict(model_name='MProtoNet3D_pm4', features='resnet18_ri', n_layers=7, f_dist='cos'),
    'pm5_r152_cos': dict(model_name='MProtoNet3D_pm5', features='resnet152_ri', n_layers=6, f_dist='cos'),
    'pm5_r18_l2': dict(model_name='MProtoNet3D_pm5', features='resnet18_ri', n_layers=6, f_dist='l2'),
}


def make_case(name, seed):
    cfg = dict(in_size=SMALL, out_size=2, prototype_shape=[6, 16, 1, 1, 1], topk_p=25)
    cfg.update(CASES[name])
    if cfg['model_name'] == 'CNN3D':
        for k in ('prototype_shape', 'topk_p'):
            cfg.pop(k)
    torch.manual_seed(seed)
    net = CNN(cfg) if cfg['model_name'] == 'CNN3D' else Proto(cfg)
    gen = torch.Generator().manual_seed(seed + 1)
    perturb_batchnorm(net, gen)
    net.eval()
    x = torch.randn(2, *cfg['in_size'], generator=gen)
    return cfg, net, x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out')
    ap.add_argument('--cases', default=','.join(CASES))
    ap.add_argument('--plain-dicts', action='store_true')
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    names = args.cases.split(',')
    for i, name in enumerate(names):
        cfg, net, x = make_case(name, 100 + i)
        with torch.no_grad():
            logits = net(x)
        predicted = logits.argmax(1)
        target = torch.tensor([1, 0])  # GradCAM and map targets: one of each class
        fixture = dict(input=x, target=target, logits=logits, predicted=predicted,
                       probabilities=F.softmax(logits, 1),
                       predicted_map_gradcam=gradcam(net, x, predicted),
                       map_gradcam=gradcam(net, x, target))
        if isinstance(net, Proto):
            with torch.no_grad():
                fixture['map_mprotonet'] = upsample(net.map_explanation(x, target), x)
                fixture['predicted_map_mprotonet'] = upsample(net.map_explanation(x, predicted), x)
        torch.save(fixture, os.path.join(args.out, f'{name}.fixture.pt'))
        torch.save(x, os.path.join(args.out, f'{name}.input.pt'))
        sd = net.state_dict()
        torch.save(dict(sd) if args.plain_dicts else sd, os.path.join(args.out, f'{name}.state.pt'))
        with open(os.path.join(args.out, f'{name}.config.json'), 'w') as f:
            json.dump(cfg, f)
        # A damaged copy for the import error test: one key missing, one unexpected, one misshaped.
        bad = dict(sd)
        bad.pop('last_layer.weight' if 'last_layer.weight' in bad else 'fc.weight')
        bad['extra_head.weight'] = torch.zeros(3)
        bad['features.conv1.weight'] = torch.zeros(64, 4, 3, 3, 3)
        torch.save(bad, os.path.join(args.out, f'{name}.broken.pt'))
        with open(os.path.join(args.out, f'{name}.keys.json'), 'w') as f:
            json.dump(list(sd.keys()), f)
    with open(os.path.join(args.out, 'cases.json'), 'w') as f:
        json.dump(names, f)


if __name__ == '__main__':
    main()
