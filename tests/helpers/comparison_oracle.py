#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Independent check of an experiment folder's comparison.json (the paired comparison of the
reference row with every other row, per held-out subject).

From each row's own files it rebuilds, without the C++ code:
  * the per-subject correctness from fold_K/test_predictions.json (label == arg-max of the
    probabilities), and checks it against evaluation.json's per-subject predictions;
  * the per-fold AP / DSC means from the per-subject values, against the fold's localization;
  * the per-subject deletion / addition areas from nothing but their definition's bounds and the
    fold's accuracy-curve area (mean of per-subject areas == unnormalised area of the accuracy curve);
  * the pairing (same subject ids, every test subject with a value in both rows) and the Wilcoxon
    signed-rank statistic and p (scipy.stats.wilcoxon) of every metric of every row.
Prints "ok" and exits 0, or prints every mismatch and exits 1.
Usage: comparison_oracle.py EXPERIMENT_DIR"""
import json
import math
import os
import sys
import warnings

import numpy as np
from scipy import stats

warnings.simplefilter('ignore')
errors = []


def fail(msg):
    errors.append(msg)


def close(a, b, tol=1e-9):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def load(path):
    with open(path) as f:
        return json.load(f)


def own_method(model):
    return 'gradcam' if model == 'CNN3D' else 'mprotonet'


def trapezoid_area(curve):
    c = np.asarray(curve, dtype=float)
    return float(np.mean((c[:-1] + c[1:]) / 2.0))


def row_values(run_dir):
    """metric -> {subject id: value} for the row's own map, after checking the evaluation's own
    per-subject records against the fold files and the fold aggregates."""
    ev = load(os.path.join(run_dir, 'evaluation.json'))
    run = load(os.path.join(run_dir, 'run.json'))
    model = ev['model_name']
    method = own_method(model)
    out = {k: {} for k in ('ap', 'dsc', 'ids', 'ias', 'bac')}
    for fold in ev['folds']:
        k = fold['fold']
        preds = load(os.path.join(run_dir, 'fold_%d' % k, 'test_predictions.json'))['predictions']
        by_id = {p['id']: p for p in preds}
        ps = fold['per_subject']
        if sorted(ps['ids']) != sorted(run['folds']['test_ids'][k]):
            fail('%s fold %d: per-subject ids are not the fold\'s test subjects' % (model, k))
        for sid, label, pred, p_hgg in zip(ps['ids'], ps['label'], ps['prediction'], ps['p_hgg']):
            ref = by_id[sid]
            if ref['label'] != label:
                fail('%s %s: label %s in evaluation, %s in test_predictions' % (model, sid, label, ref['label']))
            # The evaluation recomputes the forward (other batches; bf16 rounding may differ a
            # little): the probability must agree, and so must the class unless it is a tie.
            p_ref = ref['probabilities'][1]
            if abs(p_hgg - p_ref) > 0.02:
                fail('%s %s: p(HGG) %s in evaluation, %s in test_predictions' % (model, sid, p_hgg, p_ref))
            if abs(p_ref - 0.5) > 0.02 and int(np.argmax(ref['probabilities'])) != pred:
                fail('%s %s: evaluation predicts %s, test_predictions %s' % (model, sid, pred, ref['prediction']))
            out['bac'][sid] = 1.0 if label == pred else 0.0
        m = fold['methods'].get(method)
        if m is None:
            continue
        per = m['per_subject']
        for key in ('ap', 'dsc'):
            vals = per[key]
            if not close(float(np.mean(vals)), m['localization'][key], 1e-6):
                fail('%s fold %d: mean per-subject %s %.6f != fold %s %.6f' %
                     (model, k, key, np.mean(vals), key, m['localization'][key]))
            for sid, v in zip(per['ids'], vals):
                if not (0.0 <= v <= 1.0):
                    fail('%s %s: %s = %s outside [0, 1]' % (model, sid, key, v))
                out[key][sid] = v
        fp = m.get('faithfulness_per_subject')
        if fp is not None:
            curves = m['faithfulness']['curves']
            for key, curve in (('deletion_area', 'deletion_accuracy'), ('addition_area', 'addition_accuracy')):
                if fp[key] and not close(float(np.mean(fp[key])), trapezoid_area(curves[curve]), 1e-6):
                    fail('%s fold %d: mean per-subject %s %.6f != area of the %s curve %.6f' %
                         (model, k, key, np.mean(fp[key]), curve, trapezoid_area(curves[curve])))
            for sid, d, a in zip(fp['ids'], fp['deletion_area'], fp['addition_area']):
                out['ids'][sid] = d
                out['ias'][sid] = a
    return model, run, out


def main():
    exp = sys.argv[1]
    comparison = load(os.path.join(exp, 'comparison.json'))
    ref_dir = os.path.join(exp, 'runs', comparison['reference']['model'])
    ref_model, ref_run, ref_values = row_values(ref_dir)
    rows = {r['model']: r for r in comparison['rows']}
    run_names = sorted(os.listdir(os.path.join(exp, 'runs')))
    expected_rows = sorted(n for n in run_names if n != ref_model)
    if sorted(rows) != expected_rows:
        fail('comparison rows %s; expected every other run %s' % (sorted(rows), expected_rows))
    for name in expected_rows:
        model, run, values = row_values(os.path.join(exp, 'runs', name))
        if run['folds']['test_ids'] != ref_run['folds']['test_ids']:
            fail('%s has other folds than the reference' % name)
        row = rows.get(name, {'metrics': {}})
        if row.get('method') != own_method(name):
            fail('%s is compared with method %s; expected %s' % (name, row.get('method'), own_method(name)))
        for metric in ('ap', 'ids', 'bac', 'dsc', 'ias'):
            ids = sorted(set(ref_values[metric]) & set(values[metric]))
            got = row['metrics'].get(metric)
            if len(ids) < 2:
                if got is not None:
                    fail('%s %s: compared over %d subjects' % (name, metric, len(ids)))
                continue
            if got is None:
                fail('%s %s: no comparison although %d subjects pair up' % (name, metric, len(ids)))
                continue
            if sorted(got['subjects']) != ids:
                fail('%s %s: paired subjects %s; expected %s' % (name, metric, got['subjects'], ids))
            a = np.array([ref_values[metric][i] for i in ids])
            b = np.array([values[metric][i] for i in ids])
            if got['n'] != len(ids):
                fail('%s %s: n = %s; expected %d' % (name, metric, got['n'], len(ids)))
            if not close(got['a_mean'], float(a.mean()), 1e-9) or not close(got['b_mean'], float(b.mean()), 1e-9):
                fail('%s %s: means %s / %s; expected %s / %s' % (name, metric, got['a_mean'], got['b_mean'],
                                                                  a.mean(), b.mean()))
            nonzero = int(np.sum(a != b))
            if got['wilcoxon']['n_nonzero'] != nonzero:
                fail('%s %s: %s non-zero differences; expected %d' % (name, metric, got['wilcoxon']['n_nonzero'],
                                                                       nonzero))
            if nonzero == 0:
                if got['wilcoxon']['p_value'] is not None:
                    fail('%s %s: p given although every difference is zero' % (name, metric))
                continue
            w = stats.wilcoxon(a, b)
            stat, p = float(w.statistic), float(w.pvalue)
            if not close(got['wilcoxon']['statistic'], stat, 1e-9):
                fail('%s %s: W %s; scipy %s' % (name, metric, got['wilcoxon']['statistic'], stat))
            if not (math.isnan(p) and got['wilcoxon']['p_value'] is None) and not close(got['wilcoxon']['p_value'], p, 1e-6):
                fail('%s %s: p %s; scipy %s' % (name, metric, got['wilcoxon']['p_value'], p))
    if errors:
        print('\n'.join(errors))
        sys.exit(1)
    print('ok')


main()
