// SPDX-License-Identifier: MIT
// MR signal equations and the per-case protocol of the synthetic cohort (see mr_physics.h).
#include "mprotonet/data/mr_physics.h"

#include <cmath>

namespace mprotonet::synth {

double signal(const Sequence& s, const Relaxation& r, double gd) {
  const double r1 = 1.0 / r.t1 + (s.contrast ? gd : 0.0);
  const double t2_decay = std::exp(-s.te / r.t2);
  if (s.kind == SequenceKind::kSpinEcho) return r.pd * (1.0 - std::exp(-s.tr * r1)) * t2_decay;
  return r.pd * std::fabs(1.0 - 2.0 * std::exp(-s.ti * r1) + std::exp(-s.tr * r1)) * t2_decay;
}

double null_inversion_time(double t1, double tr) { return t1 * (std::log(2.0) - std::log1p(std::exp(-tr / t1))); }

MrProtocol MrProtocol::draw(SynthRng& rng) {
  MrProtocol p;
  auto draw = [&](double t1a, double t1b, double t2a, double t2b, double pda, double pdb) {
    return Relaxation{rng.uniform(t1a, t1b), rng.uniform(t2a, t2b), rng.uniform(pda, pdb)};
  };
  // Healthy tissue at 3 T (Wansapura 1999; Stanisz 2005): WM T1 ~830, GM ~1330-1400, CSF ~4000 ms;
  // T2 WM ~70-80, GM ~90-105 ms.
  p.tissue[kCsf] = draw(3900, 4300, 1500, 2000, 0.97, 1.0);
  p.tissue[kGreyMatter] = draw(1300, 1450, 90, 105, 0.78, 0.82);
  p.tissue[kWhiteMatter] = draw(780, 860, 68, 78, 0.68, 0.72);
  // Tumour: solid non-enhancing glioma tissue has long T1 and T2; necrosis is fluid-like;
  // enhancing tumour is cellular (shorter T2 than the rest of the tumour).
  p.tissue[kNonEnhancing] = draw(1500, 2000, 140, 240, 0.85, 0.92);
  p.tissue[kNecrosis] = draw(2200, 3200, 300, 900, 0.9, 0.98);
  p.tissue[kEnhancing] = draw(1300, 1700, 110, 160, 0.82, 0.9);
  p.tissue[kFaintlyEnhancing] = p.tissue[kNonEnhancing];
  // Venous blood (T1 ~1600 ms at 3 T); before contrast it is shown as the CSF it lies in.
  p.tissue[kVessel] = draw(1500, 1700, 120, 180, 0.82, 0.88);
  // Vasogenic / infiltrative edema: more free water, T1 and T2 longer (WM T1 -> ~1300 ms,
  // T2 -> ~150-220 ms at full edema).
  p.edema_t1_gain = rng.uniform(0.45, 0.8);
  p.edema_t2_gain = rng.uniform(1.2, 2.0);
  p.edema_pd_gain = rng.uniform(0.08, 0.15);
  p.gd_enhancing = rng.uniform(0.0012, 0.0025);  // r1 ~4 /mM/s times 0.3-0.6 mM
  p.gd_faint = rng.uniform(0.0003, 0.0008);
  p.gd_vessel = rng.uniform(0.002, 0.004);

  // Site protocol. T1: spin echo, or an inversion-prepared gradient echo (MPRAGE-like, the
  // stronger grey/white contrast of many 3D T1 scans); T1CE usually repeats it after contrast.
  auto t1_sequence = [&] {
    Sequence s;
    if (rng.bernoulli(0.5)) {
      s.kind = SequenceKind::kSpinEcho;
      s.tr = rng.uniform(400, 600);
      s.te = rng.uniform(8, 12);
    } else {
      s.kind = SequenceKind::kInversionRecovery;
      s.tr = rng.uniform(2300, 2800);
      s.ti = rng.uniform(1100, 1300);
      s.te = rng.uniform(3, 5);
    }
    return s;
  };
  p.sequences[0] = t1_sequence();
  p.sequences[1] = rng.bernoulli(0.7) ? p.sequences[0] : t1_sequence();
  p.sequences[1].contrast = true;
  Sequence& t2 = p.sequences[2];
  t2.kind = SequenceKind::kSpinEcho;
  t2.tr = rng.uniform(5000, 7000);
  t2.te = rng.uniform(90, 120);
  Sequence& flair = p.sequences[3];
  flair.kind = SequenceKind::kInversionRecovery;
  flair.tr = rng.uniform(8000, 11000);
  flair.te = rng.uniform(100, 140);
  // TI is the site's nominal CSF null (T1 4000 ms), not this subject's exact one.
  flair.ti = null_inversion_time(4000, flair.tr) * rng.uniform(0.98, 1.02);
  return p;
}

SignalTable::SignalTable(const MrProtocol& p) {
  for (size_t s = 0; s < 4; ++s) {
    for (int c = 0; c < 3; ++c)
      for (int l = 0; l < kLevels; ++l) {
        const double e = static_cast<double>(l) / (kLevels - 1);
        Relaxation r = p.tissue[static_cast<size_t>(c)];
        if (c != kCsf) {
          r.t1 *= 1 + p.edema_t1_gain * e;
          r.t2 *= 1 + p.edema_t2_gain * e;
          r.pd = std::min(1.0, r.pd + p.edema_pd_gain * e);
        }
        healthy_[s][static_cast<size_t>(c)][static_cast<size_t>(l)] = signal(p.sequences[s], r);
      }
    for (int c = kNonEnhancing; c < kCompartments; ++c) {
      const double gd = c == kEnhancing ? p.gd_enhancing : c == kFaintlyEnhancing ? p.gd_faint : c == kVessel ? p.gd_vessel : 0.0;
      // Flowing blood gives no signal of its own before contrast (flow void): CSF's.
      tumour_[s][static_cast<size_t>(c)] = c == kVessel && !p.sequences[s].contrast
                                               ? healthy_[s][kCsf][0]
                                               : signal(p.sequences[s], p.tissue[static_cast<size_t>(c)], gd);
    }
  }
}

}  // namespace mprotonet::synth
