// SPDX-License-Identifier: MIT
// Glioma growth of the synthetic cohort: a reaction-diffusion (Fisher-Kolmogorov) model of
// tumour cell density c in [0, 1],
//     dc/dt = div(D(x) grad c) + rho c (1 - c),
// with D larger in white matter than in grey matter and zero in CSF and outside the brain
// (Swanson, Alvord, Murray 2000; Konukoglu et al., IEEE TMI 2010; the model behind TumorSim,
// Prastawa, Bullitt, Gerig, Med Image Anal 2009). It runs on a coarse grid (2 mm) around the
// seed, on the healthy atlas, by explicit finite differences (7-point stencil, harmonic mean
// of D across faces, no flux into CSF), until the tumour core reaches a target volume.
//
// What is visible derives from c as in the imaging literature on this model: the T2/FLAIR
// abnormality (edema label 2) is c >= visible_threshold (the infiltrating tail below it is
// invisible), the T1/T1CE tumour core (labels 1, 4) is c >= core_threshold. Necrosis (HGG) is
// the oldest part of the core, where the tumour outgrew its blood supply: the cells that
// joined the core first, as many as `necrotic_fraction` of the core; the enhancing rim is the
// young, proliferating rest.
#pragma once

#include "mprotonet/data/anatomy.h"

namespace mprotonet::synth {

struct GrowthOptions {
  /// Seed point, atlas space (mm); should lie in white matter.
  Vec3 seed{};
  /// Grid spacing of the simulation, mm (default 2).
  double grid_mm = 2.0;
  /// Largest distance from the seed the tumour may reach, mm (default 72): the grid's half size.
  double reach_mm = 72.0;
  /// Travelling-front width sqrt(D_wm / rho) in white matter, mm: small for a compact,
  /// fast-proliferating tumour (HGG), large for a diffuse one (LGG). Default 4.
  double front_width_mm = 4.0;
  /// D_wm / D_gm (default 6; 2-10 in the literature).
  double diffusion_ratio = 6.0;
  /// Stop when the core volume (c >= core_threshold) reaches this, ml (default 30).
  double target_core_ml = 30.0;
  /// Density at the T2/FLAIR-visible boundary (default 0.16).
  double visible_threshold = 0.16;
  /// Density at the T1-visible core boundary (default 0.6).
  double core_threshold = 0.6;
  /// Fraction of the core that is necrotic (default 0 = none).
  double necrotic_fraction = 0.0;
  /// Safety bound on time steps (default 4000).
  int max_steps = 4000;
};

/// The grown tumour: fields on the simulation grid (atlas space), sampled trilinearly.
struct TumourFields {
  GridField density;   ///< c in [0, 1]
  GridField necrosis;  ///< smooth necrosis indicator in [0, 1] (0.5 = boundary); empty when none
  double visible_ml = 0;  ///< volume of c >= visible_threshold on the grid
  double core_ml = 0;     ///< volume of c >= core_threshold on the grid
  double necrotic_ml = 0;
  Vec3 centroid{};        ///< centroid of the visible tumour, atlas space
  int steps = 0;          ///< time steps taken
};

/// Grows a tumour on `atlas` from options.seed. Deterministic (single-threaded, fixed order).
TumourFields grow_tumour(const TissueAtlas& atlas, const GrowthOptions& options);

}  // namespace mprotonet::synth
