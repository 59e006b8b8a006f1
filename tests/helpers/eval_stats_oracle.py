#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""scipy.stats oracle for the paired tests: reads a JSON file [[a, b], ...] of paired samples and
prints JSON [{"wilcoxon": [statistic, p], "ttest": [statistic, p]}, ...] (NaN -> null).
Usage: eval_stats_oracle.py CASES.json"""
import json
import math
import sys
import warnings

from scipy import stats

warnings.simplefilter('ignore')


def clean(v):
    v = float(v)
    return None if math.isnan(v) else v


out = []
for a, b in json.load(open(sys.argv[1])):
    w = stats.wilcoxon(a, b)
    t = stats.ttest_rel(a, b)
    out.append({'wilcoxon': [clean(w.statistic), clean(w.pvalue)], 'ttest': [clean(t.statistic), clean(t.pvalue)]})
print(json.dumps(out))
