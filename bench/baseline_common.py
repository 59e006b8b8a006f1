# SPDX-License-Identifier: MIT
"""Set-up shared by the Python baselines of bench/: their common options (--size D H W, --runs,
--threads) and the benchmarked network (the paper's MProtoNet3D_pm5 or CNN3D on resnet152_ri,
n_layers 6) built by the tests' independent oracle (tests/helpers/oracle_models.py), seeded."""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'helpers'))
import oracle_models  # noqa: E402,F401  (re-exported for the baselines)


def parser():
    """An ArgumentParser with the options every baseline takes."""
    ap = argparse.ArgumentParser()
    ap.add_argument('--size', type=int, nargs=3, required=True)
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--threads', type=int, default=0)
    return ap


def parse(ap):
    """Parses the options and applies --threads (0 = torch's default)."""
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    return a


def network(size, model='MProtoNet3D_pm5'):
    """(config, network) of the benchmarked architecture for input 4 x size, after seeding torch with 0."""
    cfg = dict(model_name=model, in_size=[4] + list(size), out_size=2, features='resnet152_ri', n_layers=6,
               prototype_shape=[30, 128, 1, 1, 1], f_dist='cos', topk_p=1)
    torch.manual_seed(0)
    net = oracle_models.Proto(cfg) if model.startswith('MProtoNet') else oracle_models.CNN(cfg)
    return cfg, net
