// SPDX-License-Identifier: MIT
// MR signal of the synthetic cohort: tissue relaxation (T1, T2, proton density) through each
// sequence's signal equation, as BrainWeb simulates images from fuzzy tissue maps (Kwan, Evans,
// Pike, IEEE TMI 1999; Collins et al., IEEE TMI 1998), without the k-space simulation.
//
//   spin echo (T1, T2 TSE):  S = PD (1 - exp(-TR/T1)) exp(-TE/T2)
//   inversion recovery (FLAIR, and the IR-prepared T1 some sites use):
//                            S = PD |1 - 2 exp(-TI/T1) + exp(-TR/T1)| exp(-TE/T2)
//   gadolinium:              1/T1 = 1/T1_0 + r1 [Gd]   (T1 shortening where the barrier is broken)
//
// A voxel's signal is the sum of its compartments' signals weighted by their fractions
// (partial volume). Relaxation times are 3 T literature values (Wansapura et al., JMRI 1999;
// Stanisz et al., MRM 2005); tumour and edema values are ranges from glioma relaxometry
// (e.g. Hattingen et al., 2017), drawn per case.
#pragma once

#include <algorithm>
#include <array>

#include "mprotonet/data/synth_random.h"

namespace mprotonet::synth {

/// Relaxation parameters of one compartment: T1 and T2 in ms, proton density relative to CSF.
struct Relaxation {
  double t1 = 1000, t2 = 100, pd = 0.8;
};

enum class SequenceKind { kSpinEcho, kInversionRecovery };

/// One acquisition; times in ms. `gd_r1` is r1 [Gd] in 1/ms added where a compartment enhances.
struct Sequence {
  SequenceKind kind = SequenceKind::kSpinEcho;
  double tr = 500, te = 12, ti = 0;
  bool contrast = false;  ///< acquired after gadolinium
};

/// Magnitude signal of one compartment. `gd` (1/ms) shortens T1 when the sequence is
/// post-contrast.
double signal(const Sequence& s, const Relaxation& r, double gd = 0.0);

/// Inversion time that nulls a compartment with longitudinal relaxation t1 at repetition time tr.
double null_inversion_time(double t1, double tr);

/// Compartments whose relaxation a case draws.
/// kFaintlyEnhancing: non-enhancing tumour tissue with a little gadolinium (atypical LGG);
/// kVessel: blood in cortical veins and the meninges, which enhance in every brain after
/// contrast (so that enhancement alone does not mean tumour).
enum Compartment {
  kCsf, kGreyMatter, kWhiteMatter, kNonEnhancing, kNecrosis, kEnhancing, kFaintlyEnhancing, kVessel, kCompartments
};

/// Everything of the MR physics a case draws: relaxation per compartment, how edema changes
/// healthy tissue, the four sequences (t1, t1ce, t2, flair), and the gadolinium uptake.
struct MrProtocol {
  std::array<Relaxation, kCompartments> tissue;
  double edema_t1_gain = 0.5;  ///< T1 -> T1 (1 + gain e) at edema level e in [0, 1]
  double edema_t2_gain = 1.2;  ///< T2 -> T2 (1 + gain e)
  double edema_pd_gain = 0.08; ///< PD -> PD + gain e
  double gd_enhancing = 0.0015; ///< r1 [Gd] of enhancing tumour, 1/ms
  double gd_faint = 0.0005;     ///< r1 [Gd] of faintly enhancing tumour, 1/ms
  double gd_vessel = 0.003;     ///< r1 [Gd] of blood in veins and meninges, 1/ms
  std::array<Sequence, 4> sequences;

  /// Draws a case's protocol: relaxation within literature ranges, the site's T1 sequence
  /// (spin echo or inversion-prepared), TR/TE/TI per sequence, FLAIR TI nulling this case's CSF.
  static MrProtocol draw(SynthRng& rng);
};

/// Signals tabulated for fast per-voxel use: healthy CSF/GM/WM at edema levels 0..1 and the
/// tumour compartments, per sequence.
class SignalTable {
 public:
  static constexpr int kLevels = 33;
  explicit SignalTable(const MrProtocol& protocol);
  /// Signal of healthy compartment (kCsf, kGreyMatter, kWhiteMatter) at edema level e in [0, 1].
  double healthy(int sequence, int compartment, double e) const {
    const double t = std::min(std::max(e, 0.0), 1.0) * (kLevels - 1);
    const int i = std::min(static_cast<int>(t), kLevels - 2);
    const double w = t - i;
    const auto& row = healthy_[static_cast<size_t>(sequence)][static_cast<size_t>(compartment)];
    return row[static_cast<size_t>(i)] * (1 - w) + row[static_cast<size_t>(i + 1)] * w;
  }
  /// Signal of a tumour or vessel compartment (kNonEnhancing .. kVessel).
  double tumour(int sequence, int compartment) const { return tumour_[static_cast<size_t>(sequence)][static_cast<size_t>(compartment)]; }
  /// Signal of white matter without edema (reference level for noise and scaling).
  double white_matter(int sequence) const { return healthy(sequence, kWhiteMatter, 0.0); }

 private:
  std::array<std::array<std::array<double, kLevels>, 3>, 4> healthy_{};
  std::array<std::array<double, kCompartments>, 4> tumour_{};
};

}  // namespace mprotonet::synth
