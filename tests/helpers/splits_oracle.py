#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Oracle for stratified K-fold: scikit-learn's StratifiedKFold(shuffle=True).

usage: splits_oracle.py N_SPLITS SEED LABEL,LABEL,...   -> prints the test-fold index of each sample
"""
import sys

import numpy as np
from sklearn.model_selection import StratifiedKFold

n_splits, seed, labels = int(sys.argv[1]), int(sys.argv[2]), [int(x) for x in sys.argv[3].split(",")]
y = np.array(labels)
fold_of = np.full(len(y), -1)
for k, (_, test) in enumerate(StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)):
    fold_of[test] = k
print(",".join(str(f) for f in fold_of))
