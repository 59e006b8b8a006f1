#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Oracle for the attribution maps of docs/method.md#explanations, computed by Captum itself, called
the way the reference code calls it (GradCAM: LayerGradCam on the last Conv3d of named_modules with
relu_attributions, upsampled trilinearly and expanded over the channels; Guided GradCAM:
GuidedBackprop x that GradCAM; Deconvolution; Occlusion with window (1, 11, 11, 11), strides
(1, 5, 5, 5), baseline 0, one perturbation per forward), on the models of oracle_models.py.

Writes for each case <out>/<case>.state.pt, <case>.config.json and <case>.attr.pt (input, target,
logits, gradcam, guided_gradcam, deconvolution, and occlusion for the cases in OCCLUSION_CASES),
then <out>/done. Runs with the project's virtual environment (scripts/setup-venv.sh).
Usage: captum_attribution_oracle.py OUT_DIR [--cases a,b]
"""
import argparse
import json
import os
import sys
import warnings

import captum
import captum.attr as ca
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle_models as om  # noqa: E402

torch.set_num_threads(2)
warnings.filterwarnings('ignore')

CASES = ['cnn_r18', 'pm0_r18_cos', 'pm2_r18_l2lin', 'pm5_r18_l2']
OCCLUSION_CASES = ['cnn_r18', 'pm2_r18_l2lin']


def upsample(attr, x):
    attr = ca.LayerAttribution.interpolate(attr, x.shape[2:], interpolate_mode='trilinear')
    return attr.expand_as(x).clone()


def gradcam(net, x, target):
    name = [n for n, m in net.named_modules() if isinstance(m, (nn.Conv2d, nn.Conv3d))][-1]
    attr = ca.LayerGradCam(net, net.get_submodule(name)).attribute(x, target=target, relu_attributions=True)
    return upsample(attr, x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out')
    ap.add_argument('--cases', default=','.join(CASES))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for i, name in enumerate(args.cases.split(',')):
        cfg, net, x = om.make_case(name, 400 + i)
        target = torch.tensor([1, 0])
        with torch.no_grad():
            logits = net(x)
        cam = gradcam(net, x, target)
        res = dict(input=x, target=target, logits=logits, gradcam=cam,
                   guided_gradcam=ca.GuidedBackprop(net).attribute(x, target=target) * cam,
                   deconvolution=ca.Deconvolution(net).attribute(x, target=target))
        if name in OCCLUSION_CASES:
            window = (1,) + (11,) * (x.dim() - 2)
            strides = (1,) + (5,) * (x.dim() - 2)
            res['occlusion'] = ca.Occlusion(net).attribute(x, window, strides=strides, target=target,
                                                           perturbations_per_eval=1)
        res = {k: v.detach().contiguous() for k, v in res.items()}
        torch.save(res, os.path.join(args.out, f'{name}.attr.pt'))
        torch.save(dict(net.state_dict()), os.path.join(args.out, f'{name}.state.pt'))
        with open(os.path.join(args.out, f'{name}.config.json'), 'w') as f:
            json.dump(cfg, f)
    with open(os.path.join(args.out, 'done'), 'w') as f:
        json.dump(dict(captum=captum.__version__, torch=torch.__version__), f)


if __name__ == '__main__':
    main()
