#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Independent recomputation of a run folder's evaluation and cross-validation numbers from the
per-subject records the C++ code writes (docs/method.md#metrics), without the C++ code.

evaluation.json (`mprotonet evaluate`):
  * per fold, the classification metrics from fold.per_subject (label, prediction, p_hgg) with
    scikit-learn (accuracy, balanced accuracy, sensitivity = recall of HGG, specificity = recall
    of LGG, ROC AUC of p_hgg), and prediction == arg-max of (1 - p_hgg, p_hgg) away from ties;
  * per fold and method, AP / DSC = the mean of the per-subject values, IDS / IAS (and their
    accuracy-curve variants) = the area of the fold's BAC (accuracy) curve clipped to the range of
    its first and last value and min-max normalised, mean trapezoid;
  * summary.methods[m][ap|dsc|ids|ias] = mean, population std (ddof 0) and count over folds of
    those recomputed fold values (NaN folds left out); summary.methods[m].ap_per_channel likewise;
    summary.classification.full from the recomputed fold metrics;
  * significance.mprotonet_vs_gradcam_<metric>: paired over the same folds, in fold order, with
    the recomputed fold values: n, both means, scipy.stats.wilcoxon and ttest_rel.
results.json (`mprotonet train`, when the run has fold_K/test_predictions.json): per fold the
metrics from the predictions with scikit-learn, equal to test_predictions' and results.json's,
and results.json's mean / std (ddof 0) over folds.
(comparison_oracle.py checks the per-subject pairing across runs of `demo`; not repeated here.)
Prints the parts checked ("checked: evaluation significance cv") and exits 0, or prints every
mismatch and exits 1.
Usage: evaluation_oracle.py RUN_DIR"""
import json
import math
import os
import sys
import warnings

import numpy as np
from scipy import stats

try:
    from sklearn import metrics as skm
except ImportError:  # NumPy fallback with the same definitions
    skm = None

warnings.simplefilter('ignore')
errors = []
checked = []


def fail(msg):
    errors.append(msg)


def num(v):
    return float('nan') if v is None else float(v)


def close(got, want, tol=1e-9):
    got, want = num(got), num(want)
    if math.isnan(want) or math.isnan(got):
        return math.isnan(want) and math.isnan(got)
    return abs(got - want) <= tol * max(1.0, abs(got), abs(want))


def load(path):
    with open(path) as f:
        return json.load(f)


def recall(y, p, cls):
    sel = y == cls
    return float('nan') if not sel.any() else float(np.mean(p[sel] == cls))


def auc(y, score):
    if len(set(y.tolist())) < 2:
        return float('nan')
    if skm is not None:
        return float(skm.roc_auc_score(y, score))
    pos, neg = score[y == 1], score[y == 0]
    return float(np.mean([(a > b) + 0.5 * (a == b) for a in pos for b in neg]))


def classification(labels, predictions, p_hgg):
    y, p, s = np.asarray(labels), np.asarray(predictions), np.asarray(p_hgg, dtype=float)
    sens, spec = recall(y, p, 1), recall(y, p, 0)
    if skm is not None:
        acc = float(skm.accuracy_score(y, p))
        bac = float(skm.balanced_accuracy_score(y, p))  # one class present: that class's recall
    else:
        acc = float(np.mean(y == p))
        bac = float(np.nanmean([sens, spec]))
    return {'accuracy': acc, 'bac': bac, 'sensitivity': sens, 'specificity': spec, 'auc': auc(y, s)}


def curve_area(curve):
    c = np.asarray(curve, dtype=float)
    lo, hi = min(c[0], c[-1]), max(c[0], c[-1])
    if len(c) < 2 or not hi > lo:
        return float('nan')
    n = (np.clip(c, lo, hi) - lo) / (hi - lo)
    return float(np.mean((n[:-1] + n[1:]) / 2))


def summary(values):
    v = np.asarray([x for x in values if not math.isnan(x)], dtype=float)
    if len(v) == 0:
        return float('nan'), float('nan'), 0
    return float(v.mean()), float(v.std(ddof=0)), len(v)


def check_summary(where, got, values):
    mean, std, n = summary(values)
    if got is None:
        fail('%s: missing' % where)
        return
    if not close(got.get('mean'), mean) or not close(got.get('std'), std) or got.get('n') != n:
        fail('%s: mean %s std %s n %s; recomputed %s %s %s from %s' % (where, got.get('mean'), got.get('std'),
                                                                       got.get('n'), mean, std, n, values))


def check_metrics(where, got, want):
    for k, v in want.items():
        if not close(got.get(k), v, 1e-6):
            fail('%s %s: %s; recomputed %s' % (where, k, got.get(k), v))


def check_evaluation(run):
    ev = load(os.path.join(run, 'evaluation.json'))
    if ev.get('std_kind') != 'population (numpy default, ddof 0)':
        fail('std_kind %s' % ev.get('std_kind'))
    per_method = {}   # method -> metric -> [fold values]
    channel_ap = {}   # method -> [[4 per fold]]
    cls_folds = []
    for fold in ev['folds']:
        k = fold['fold']
        ps = fold['per_subject']
        for pred, p in zip(ps['prediction'], ps['p_hgg']):
            if abs(p - 0.5) > 1e-6 and pred != int(p > 0.5):
                fail('fold %d: prediction %s but p(HGG) %s' % (k, pred, p))
        want = classification(ps['label'], ps['prediction'], ps['p_hgg'])
        check_metrics('fold %d classification' % k, fold['classification'], want)
        cls_folds.append(want)
        for name, m in fold['methods'].items():
            per = m['per_subject']
            vals = per_method.setdefault(name, {})
            for key in ('ap', 'dsc'):
                v = float(np.mean(per[key])) if per[key] else float('nan')
                if not close(m['localization'][key], v, 1e-9):
                    fail('fold %d %s: %s %s; mean of per-subject values %s' % (k, name, key, m['localization'][key], v))
                vals.setdefault(key, []).append(v)
            channel_ap.setdefault(name, []).append(m['localization']['ap_per_channel'])
            if 'faithfulness' in m:
                f = m['faithfulness']
                for key, curve in (('ids', 'deletion_bac'), ('ias', 'addition_bac'),
                                   ('ids_accuracy', 'deletion_accuracy'), ('ias_accuracy', 'addition_accuracy')):
                    a = curve_area(f['curves'][curve])
                    if not close(f[key], a, 1e-9):
                        fail('fold %d %s: %s %s; area of %s %s' % (k, name, key, f[key], curve, a))
                    if key in ('ids', 'ias'):
                        vals.setdefault(key, []).append(a)
    s = ev['summary']
    for name, vals in per_method.items():
        for metric, values in vals.items():
            check_summary('summary %s %s' % (name, metric), s['methods'].get(name, {}).get(metric), values)
        for c in range(4):
            check_summary('summary %s ap_per_channel[%d]' % (name, c), s['methods'][name]['ap_per_channel'][c],
                          [f[c] if c < len(f) else float('nan') for f in channel_ap[name]])
    for metric in ('accuracy', 'bac', 'sensitivity', 'specificity', 'auc'):
        check_summary('summary classification full %s' % metric, s['classification']['full'].get(metric),
                      [f[metric] for f in cls_folds])
    checked.append('evaluation')
    # The significance tests pair the two methods' fold values, fold by fold.
    sig = ev.get('significance', {})
    if 'mprotonet' in per_method and 'gradcam' in per_method:
        for metric in ('ap', 'dsc', 'ids', 'ias'):
            fa = per_method['mprotonet'].get(metric, [])
            fb = per_method['gradcam'].get(metric, [])
            # Folds where both values are defined, in fold order.
            pairs = [(x, y) for x, y in zip(fa, fb) if not (math.isnan(x) or math.isnan(y))]
            a, b = [p[0] for p in pairs], [p[1] for p in pairs]
            key = 'mprotonet_vs_gradcam_' + metric
            if len(a) < 2:
                if key in sig:
                    fail('%s given, but only %d fold(s) have a value for both methods' % (key, len(a)))
                continue
            got = sig.get(key)
            if got is None:
                fail('%s missing' % key)
                continue
            a, b = np.asarray(a), np.asarray(b)
            if got['n'] != len(a) or not close(got['a_mean'], a.mean()) or not close(got['b_mean'], b.mean()):
                fail('%s: n %s means %s / %s; recomputed %d, %s / %s' % (key, got['n'], got['a_mean'], got['b_mean'],
                                                                          len(a), a.mean(), b.mean()))
            nonzero = int(np.sum(a != b))
            if got['wilcoxon']['n_nonzero'] != nonzero:
                fail('%s: %s non-zero differences; recomputed %d' % (key, got['wilcoxon']['n_nonzero'], nonzero))
            if nonzero > 0:
                w = stats.wilcoxon(a, b)
                if not close(got['wilcoxon']['statistic'], float(w.statistic)) or \
                        not close(got['wilcoxon']['p_value'], float(w.pvalue), 1e-6):
                    fail('%s: Wilcoxon %s p %s; scipy %s p %s' % (key, got['wilcoxon']['statistic'],
                                                                   got['wilcoxon']['p_value'], w.statistic, w.pvalue))
                t = stats.ttest_rel(a, b)
                if not close(got['t_test']['statistic'], float(t.statistic), 1e-6) or \
                        not close(got['t_test']['p_value'], float(t.pvalue), 1e-6):
                    fail('%s: t %s p %s; scipy %s p %s' % (key, got['t_test']['statistic'], got['t_test']['p_value'],
                                                           t.statistic, t.pvalue))
        checked.append('significance')


def check_cv(run):
    results = load(os.path.join(run, 'results.json'))
    folds = []
    for i, fr in enumerate(results['folds']):
        k = fr['fold']
        tp = load(os.path.join(run, 'fold_%d' % k, 'test_predictions.json'))
        preds = tp['predictions']
        labels = [p['label'] for p in preds]
        argmax = [int(np.argmax(p['probabilities'])) for p in preds]
        for p, a in zip(preds, argmax):
            if p['prediction'] != a:
                fail('fold %d %s: prediction %s, arg-max %s' % (k, p['id'], p['prediction'], a))
        want = classification(labels, argmax, [p['probabilities'][1] for p in preds])
        check_metrics('test_predictions fold %d' % k, tp['metrics'], want)
        check_metrics('results.json fold %d' % k, fr, want)
        if fr.get('count') != len(preds):
            fail('results.json fold %d: count %s; %d predictions' % (k, fr.get('count'), len(preds)))
        folds.append(want)
    for metric in ('accuracy', 'bac', 'sensitivity', 'specificity', 'auc'):
        mean, std, _ = summary([f[metric] for f in folds])
        if not close(results['mean'][metric], mean) or not close(results['std'][metric], std):
            fail('results.json %s: mean %s std %s; recomputed %s %s' % (metric, results['mean'][metric],
                                                                      results['std'][metric], mean, std))
    checked.append('cv')


def main():
    run = sys.argv[1]
    if os.path.exists(os.path.join(run, 'evaluation.json')):
        check_evaluation(run)
    if os.path.exists(os.path.join(run, 'results.json')):
        check_cv(run)
    if errors:
        print('\n'.join(errors))
        sys.exit(1)
    print('checked: ' + ' '.join(checked) + (' (sklearn)' if skm is not None else ' (numpy)'))


if __name__ == '__main__':
    main()
