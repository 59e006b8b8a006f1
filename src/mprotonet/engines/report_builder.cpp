// SPDX-License-Identifier: MIT
// Run folders, prototype gallery, explained test cases and the report file (see report_builder.h).
#include "mprotonet/engines/report_builder.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "mprotonet/attribution/methods.h"
#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/data/brats.h"
#include "mprotonet/data/cohort.h"
#include "mprotonet/engines/explain.h"
#include "mprotonet/engines/run_consistency.h"
#include "mprotonet/engines/run_folder.h"
#include "mprotonet/io/volume_tensor.h"
#include "mprotonet/nets/inference.h"
#include "mprotonet/nets/model_file.h"
#include "mprotonet/nets/push_record.h"
#include "mprotonet/report/png.h"
#include "mprotonet/report/prototype_view.h"
#include "mprotonet/report/viewer.h"

namespace mprotonet {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Smallest zoom giving panels at least `min_width` pixels wide.
int zoom_for(int64_t width, int min_width) {
  return std::max<int>(1, static_cast<int>((min_width + width - 1) / std::max<int64_t>(width, 1)));
}

}  // namespace

std::vector<ReportRun> load_report_runs(const fs::path& dir) {
  return with_context("while reading the run folders in " + dir.string(), [&] {
    check(fs::is_directory(dir), dir.string() + " is not a folder; expected a run folder (run.json) or a folder with runs/*");
    std::vector<fs::path> dirs;
    if (fs::exists(RunFolder(dir).run_json())) {
      dirs.push_back(dir);
    } else if (fs::is_directory(dir / "runs")) {
      for (const auto& e : fs::directory_iterator(dir / "runs"))
        if (e.is_directory() && fs::exists(RunFolder(e.path()).run_json())) dirs.push_back(e.path());
    }
    check(!dirs.empty(), dir.string() + " holds neither run.json nor runs/<name>/run.json; expected the folder of a "
                                        "`mprotonet train` run or of `mprotonet demo`");
    std::vector<ReportRun> runs;
    for (const auto& d : dirs) {
      ReportRun r;
      r.dir = d;
      r.run = read_json_file(RunFolder(d).run_json());
      check(r.run.is_object(), RunFolder(d).run_json().string() + ": expected a JSON object");
      check_run_json(r.run, RunFolder(d).run_json());  // a stray JSON file is not an empty run
      r.results = read_optional_json(RunFolder(d).results_json());
      r.evaluation = read_optional_json(RunFolder(d).evaluation_json());
      r.label = r.run.contains("model_name") && r.run["model_name"].is_string() ? r.run["model_name"].get<std::string>()
                                                                                : d.filename().string();
      runs.push_back(std::move(r));
    }
    // The paper's row order: CNN3D, then p_mode 0..5 (ProtoPNet ... MProtoNet C).
    std::stable_sort(runs.begin(), runs.end(), [](const ReportRun& a, const ReportRun& b) {
      return std::make_tuple(a.p_mode(), a.label, a.dir.string()) < std::make_tuple(b.p_mode(), b.label, b.dir.string());
    });
    return runs;
  });
}

// ------------------------------------------------------------------------------ gallery
std::vector<GallerySection> make_gallery(const std::vector<ReportRun>& runs, int fold, const fs::path& files_dir,
                                         const std::string& rel) {
  std::vector<GallerySection> out;
  for (size_t r = 0; r < runs.size(); ++r) {
    const auto& run = runs[r];
    if (!run.prototype_model()) continue;
    GallerySection s;
    s.run_label = run.label;
    s.fold = fold;
    s.p_mode = run.p_mode();
    const fs::path model = RunFolder(run.dir).fold_model(fold);
    try {
      check(fs::exists(model), model.string() + " does not exist (fold not trained yet?)");
      const auto loaded = nets::load_model_file(model);
      const json record = json::parse(loaded.push_record, nullptr, false);
      check(record.is_object(), "the model in " + model.string() + " was never pushed: it has no prototype sources");
      const PushRecord pr = push_record_from_json(record);
      int pictured = 0;
      for (const auto& p : pr.prototypes) {
        GalleryItem it;
        it.prototype = p.prototype;
        it.cls = p.cls;
        it.subject_id = p.subject_id;
        it.distance = p.distance;
        if (p.picture) {
          const std::string f = "proto_" + std::to_string(r) + "_f" + std::to_string(fold) + "_p" +
                                std::to_string(p.prototype) + ".png";
          write_png(files_dir / f, render_prototype(p));
          it.image = rel + "/" + f;
          ++pictured;
        }
        s.items.push_back(it);
      }
      if (pictured == 0)
        s.note = "the push record has no pictures (model file written before pictures were recorded)";
    } catch (const std::exception& e) {
      s.note = e.what();
    }
    out.push_back(std::move(s));
  }
  return out;
}

// ------------------------------------------------------------------------------ cases
std::vector<std::pair<std::string, std::string>> choose_cases(const ReportRun& run, int cases) {
  struct Candidate {
    std::string id;
    int label;
    int prediction;
    double confidence;
  };
  // Buckets: correct HGG, correct LGG, misclassified HGG, misclassified LGG.
  std::vector<Candidate> bucket[4];
  std::set<std::string> seen;
  for (int k = 0; k < std::max(run.folds(), 0); ++k) {
    const fs::path p = RunFolder(run.dir).fold_predictions(k);
    if (!fs::exists(p)) continue;
    const json j = read_json_file(p);
    if (!j.contains("predictions") || !j["predictions"].is_array()) continue;
    for (const auto& q : j["predictions"]) {
      if (!q.is_object() || !q.contains("id") || !q["id"].is_string()) continue;
      Candidate c{q["id"].get<std::string>(), q.value("label", 0), q.value("prediction", 0), 0.0};
      if (!seen.insert(c.id).second) continue;
      if (q.contains("probabilities") && q["probabilities"].is_array() && q["probabilities"].size() == 2)
        c.confidence = q["probabilities"][static_cast<size_t>(c.prediction == 1)].get<double>();
      const int b = (c.label == c.prediction ? 0 : 2) + (c.label == 1 ? 0 : 1);
      bucket[b].push_back(c);
    }
  }
  for (auto& b : bucket)
    std::stable_sort(b.begin(), b.end(), [](const Candidate& x, const Candidate& y) { return x.confidence > y.confidence; });
  static const char* kinds[4] = {"correct HGG", "correct LGG", "misclassified HGG", "misclassified LGG"};
  std::vector<std::pair<std::string, std::string>> out;
  size_t next[4] = {0, 0, 0, 0};
  bool any = true;
  while (static_cast<int>(out.size()) < cases && any) {
    any = false;
    for (int b = 0; b < 4 && static_cast<int>(out.size()) < cases; ++b)
      if (next[b] < bucket[b].size()) {
        out.emplace_back(bucket[b][next[b]++].id, kinds[b]);
        any = true;
      }
  }
  return out;
}

std::vector<CaseView> make_cases(const std::vector<ReportRun>& runs, const CaseOptions& o, const fs::path& files_dir,
                                 const std::string& rel, std::vector<std::string>& notes) {
  std::vector<CaseView> views;
  if (runs.empty() || o.cases <= 0) return views;
  // Cases are chosen from the best prototype model present (MProtoNet C when it is there).
  const ReportRun* best = &runs.front();
  for (const auto& r : runs)
    if (r.p_mode() >= best->p_mode()) best = &r;
  const ReportRun& primary = *best;
  const auto chosen = choose_cases(primary, o.cases);
  if (chosen.empty()) {
    notes.push_back("no test predictions found in " + primary.dir.string() + ": no test cases shown");
    return views;
  }
  // The dataset: as given, else as recorded in run.json, else REPORT_DIR/data (a moved demo folder).
  fs::path data = o.data_dir;
  if (data.empty()) {
    const fs::path recorded = primary.run.value("data_dir", std::string());
    if (!recorded.empty() && fs::exists(recorded)) data = recorded;
    else if (!o.report_dir.empty() && fs::exists(o.report_dir / "data" / "name_mapping.csv")) data = o.report_dir / "data";
    if (data.empty()) {
      notes.push_back("test cases not shown: the dataset folder recorded in run.json (" + recorded.string() +
                      ") does not exist; pass --data");
      return views;
    }
  }
  Dataset ds = with_context("while reading the dataset " + data.string() + " for the report's test cases",
                            [&] { return discover_brats(data, DatasetOptions{}); });
  check_dataset_matches_run(primary.run, ds, RunFolder(primary.dir).run_json());  // the run's subjects and grades
  std::map<std::string, size_t> where;
  for (size_t i = 0; i < ds.subjects.size(); ++i) where[ds.subjects[i].files.id] = i;
  Dataset picked = ds;
  picked.subjects.clear();
  std::vector<std::pair<std::string, std::string>> cases;
  for (const auto& [id, kind] : chosen) {
    auto it = where.find(id);
    if (it == where.end()) {
      notes.push_back("test case " + id + " is not in the dataset " + data.string());
      continue;
    }
    picked.subjects.push_back(ds.subjects[it->second]);
    cases.emplace_back(id, kind);
  }
  if (cases.empty()) return views;

  fs::path cache_root = o.cache_dir;
  if (cache_root.empty()) {
    const fs::path recorded = primary.run.value("cache_dir", std::string());
    cache_root = !recorded.empty() && fs::exists(recorded.parent_path()) ? recorded.parent_path() : default_cache_root();
  }
  const auto log = o.log ? o.log : ProgressLog([](const std::string&) {});
  // One preprocessed cohort per preprocessing used by the runs (normally one).
  std::map<std::string, PreprocessedCohort> cohorts;
  auto cohort_for = [&](const ReportRun& run) -> const PreprocessedCohort& {
    const PreprocessOptions preprocess = run_preprocess_options(run.run);
    auto it = cohorts.find(preprocess.key());
    if (it == cohorts.end()) {
      CohortOptions co;
      co.preprocess = preprocess;
      co.cache_root = cache_root;
      co.with_seg = true;
      log("report: preprocessing / mapping " + std::to_string(picked.subjects.size()) + " test cases at " +
          std::to_string(preprocess.spacing_mm) + " mm");
      it = cohorts.emplace(preprocess.key(), PreprocessedCohort::build(picked, co)).first;
    }
    return it->second;
  };

  // Prototype source subjects (training cases), one preprocessed cohort each, for the viewer.
  std::map<std::pair<std::string, std::string>, PreprocessedCohort> sources;
  auto source_cohort = [&](const ReportRun& run, const std::string& subject) -> const PreprocessedCohort& {
    const PreprocessOptions preprocess = run_preprocess_options(run.run);
    auto it = sources.find({preprocess.key(), subject});
    if (it == sources.end()) {
      Dataset one = ds;
      one.subjects = {ds.subjects[where.at(subject)]};
      CohortOptions co;
      co.preprocess = preprocess;
      co.cache_root = cache_root;
      co.with_seg = false;
      it = sources.emplace(std::make_pair(preprocess.key(), subject), PreprocessedCohort::build(one, co)).first;
    }
    return it->second;
  };
  // Adds prototype p's source case to the viewer: its modalities (once per subject) and the
  // prototype's occurrence map upsampled as the push does (p_mode >= 2) or its receptive-field box.
  auto add_source = [&](CaseViewer& viewer, const ReportRun& run, nets::MProtoNet3DImpl& proto, int64_t p,
                        const PushedPrototype& src) -> int {
    if (src.subject_id.empty() || where.find(src.subject_id) == where.end()) return -1;
    const PreprocessedCohort& sc = source_cohort(run, src.subject_id);
    const auto image = sc.image(0);  // [4, X, Y, Z]
    const Affine affine = sc.affine(0);
    Volume occurrence = make_volume({image.size(1), image.size(2), image.size(3)}, affine);
    if (run.p_mode() >= 2) {
      const auto m = proto.forward_all(sc.images({0})).occurrence_maps[0][p];
      occurrence = tensor_to_volume(torch::nn::functional::interpolate(
                                      m.unsqueeze(0).unsqueeze(0),
                                      torch::nn::functional::InterpolateFuncOptions()
                                          .size(std::vector<int64_t>{image.size(1), image.size(2), image.size(3)})
                                          .mode(torch::kTrilinear)
                                          .align_corners(false))[0][0],
                                  affine);
    } else {
      const auto& rf = src.receptive_field;
      for (int64_t i = rf[0][0]; i < std::min(rf[0][1], image.size(1)); ++i)
        for (int64_t j = rf[1][0]; j < std::min(rf[1][1], image.size(2)); ++j)
          for (int64_t k = rf[2][0]; k < std::min(rf[2][1], image.size(3)); ++k) occurrence.at(i, j, k) = 1.0f;
    }
    auto& images = viewer.source_images;
    auto found = std::find_if(images.begin(), images.end(), [&](const auto& e) { return e.first == src.subject_id; });
    if (found == images.end()) {
      static const char* kNames[4] = {"T1", "T1CE", "T2", "FLAIR"};
      std::vector<ViewerVolume> vols;
      for (int64_t m = 0; m < 4; ++m) vols.push_back(viewer_intensity(tensor_to_volume(image[m], affine), kNames[m]));
      found = images.insert(images.end(), {src.subject_id, std::move(vols)});
    }
    const std::string label = run.label + " · prototype #" + std::to_string(p) + " (source " + src.subject_id + ")";
    viewer.sources.push_back({label, static_cast<size_t>(found - images.begin()), viewer_map_volume(occurrence, label)});
    return static_cast<int>(viewer.sources.size()) - 1;
  };

  std::map<std::pair<size_t, int>, nets::LoadedModel> models;
  std::map<std::pair<size_t, int>, std::optional<PushRecord>> records;
  std::map<std::pair<size_t, int>, std::string> record_errors;  // unreadable push records
  std::map<std::tuple<size_t, int, int64_t>, std::string> proto_images;
  auto model_for = [&](size_t r, int fold) -> nets::LoadedModel& {
    auto key = std::make_pair(r, fold);
    auto it = models.find(key);
    if (it == models.end()) {
      it = models.emplace(key, nets::load_model_file(RunFolder(runs[r].dir).fold_model(fold))).first;
      try {
        records[key] = read_push_record(it->second.push_record);
      } catch (const std::exception& e) {
        records[key] = std::nullopt;
        record_errors[key] = e.what();
      }
    }
    return it->second;
  };

  for (size_t c = 0; c < cases.size(); ++c) {
    const auto& [id, kind] = cases[c];
    log("report: explaining test case " + std::to_string(c + 1) + "/" + std::to_string(cases.size()));
    const PreprocessedCohort& base = cohort_for(primary);
    const int64_t ci = static_cast<int64_t>(c);
    CaseView view;
    view.id = id;
    view.label = base.label(ci);
    view.kind = kind;
    const Affine affine = base.affine(ci);
    const auto image = base.image(ci);
    std::array<Volume, 4> mods;
    for (int m = 0; m < 4; ++m) mods[static_cast<size_t>(m)] = tensor_to_volume(image[m], affine);
    std::optional<Volume> seg;
    if (base.has_seg(ci)) seg = tensor_to_volume(base.seg(ci)[0].to(torch::kFloat), affine);
    // The axial slice with the most tumour (else the middle one).
    const int axis = SliceView::normal_axis(mods[0], Plane::kAxial);
    int64_t slice = mods[0].shape[static_cast<size_t>(axis)] / 2;
    if (seg) {
      auto counts = (base.seg(ci)[0] > 0).to(torch::kLong);
      std::vector<int64_t> dims;
      for (int a = 0; a < 3; ++a)
        if (a != axis) dims.push_back(a);
      auto per_slice = counts.sum(dims);
      if (per_slice.max().item<int64_t>() > 0) slice = per_slice.argmax().item<int64_t>();
    }
    view.slice = slice;
    const SliceView probe(mods[0], Plane::kAxial, slice, 1);
    const SliceView sv(mods[0], Plane::kAxial, slice, zoom_for(probe.width(), 150));
    std::vector<Window> windows;
    for (const auto& m : mods) windows.push_back(percentile_window(m));
    auto base_panels = [&] {
      std::vector<RgbImage> panels;
      for (size_t m = 0; m < 4; ++m) panels.push_back(render_slice(mods[m], sv, windows[m]));
      return panels;
    };
    static const char* kModalities[4] = {"T1", "T1CE", "T2", "FLAIR"};
    for (size_t m = 0; m < 4; ++m) view.viewer.modalities.push_back(viewer_intensity(mods[m], kModalities[m]));
    if (seg) view.viewer.labels = viewer_labels(*seg, "tumour labels");
    {
      auto panels = base_panels();
      if (seg)
        for (auto& p : panels) overlay_label_outline(p, *seg, sv);
      const std::string f = "case" + std::to_string(c) + "_input.png";
      write_png(files_dir / f, tile_images(panels, 4, 3, Rgb{0, 0, 0}));
      view.input_image = rel + "/" + f;
    }

    for (size_t r = 0; r < runs.size(); ++r) {
      const ReportRun& run = runs[r];
      CaseModel cm;
      cm.run_label = run.label;
      cm.fold = run.fold_of(id);
      if (cm.fold < 0) {
        cm.note = "not a test case of this run";
        view.models.push_back(cm);
        continue;
      }
      try {
        const PreprocessedCohort& cohort = cohort_for(run);
        auto& loaded = model_for(r, cm.fold);
        auto& model = *loaded.model;
        model.eval();
        auto x = cohort.images({ci});
        std::vector<std::string> names;
        if (run.evaluation.is_object() && run.evaluation.contains("methods") && run.evaluation["methods"].is_array()) {
          for (const auto& m : run.evaluation["methods"])
            if (m.is_string()) names.push_back(m.get<std::string>());
        } else {
          if (run.prototype_model()) names.push_back("mprotonet");
          names.push_back("gradcam");
        }
        std::vector<std::string> skipped;
        std::vector<attribution::MapMethod> methods;
        for (const auto& name : names) {
          if (std::find(o.skip_methods.begin(), o.skip_methods.end(), name) != o.skip_methods.end())
            skipped.push_back(name);
          else
            methods.push_back(attribution::parse_map_method(name));
        }
        const auto& rec = records[{r, cm.fold}];
        if (auto err = record_errors.find({r, cm.fold}); err != record_errors.end())
          cm.note = "the model's push record cannot be read (" + err->second + "); prototypes shown without their sources";
        const CaseExplanation e = explain_input(model, x, methods, o.top_prototypes, rec ? &*rec : nullptr);
        cm.predicted = static_cast<int>(e.predicted);
        cm.p_hgg = e.p_hgg;
        cm.has_prediction = true;
        for (const auto& [method, signed_map] : e.maps) {
          const auto name = attribution::map_method_name(method);
          const auto map = signed_map.abs();  // [4, X, Y, Z]
          const double peak = map.max().item<double>();
          {  // the viewer: one volume, or one per modality when the channels differ
            ViewerMap vm{run.label + " · " + method_label(name), {}};
            const bool per_channel = (map - map[0].unsqueeze(0)).abs().max().item<double>() > 0;
            for (int64_t m = 0; m < (per_channel ? 4 : 1); ++m)
              vm.volumes.push_back(viewer_map_volume(tensor_to_volume(map[m], affine), vm.label));
            view.viewer.maps.push_back(std::move(vm));
          }
          auto panels = base_panels();
          for (size_t m = 0; m < 4; ++m) {
            HeatmapOptions h;
            h.alpha = 0.55;
            h.range = Window{0.0, peak > 0 ? peak : 1.0};
            h.threshold = 0.15;
            overlay_heatmap(panels[m], tensor_to_volume(map[static_cast<int64_t>(m)], affine), sv, h);
            if (seg) overlay_label_outline(panels[m], *seg, sv, {{1, {0, 230, 255}}, {2, {0, 230, 255}}, {4, {0, 230, 255}}});
          }
          const std::string f = "case" + std::to_string(c) + "_r" + std::to_string(r) + "_" + name + ".png";
          write_png(files_dir / f, tile_images(panels, 4, 3, Rgb{0, 0, 0}));
          cm.maps.push_back({name, rel + "/" + f});
        }
        if (!skipped.empty()) {
          std::string s;
          for (const auto& n : skipped) s += (s.empty() ? "" : ", ") + n;
          cm.note += (cm.note.empty() ? "" : "; ") + s + " not computed for the report (too slow on a CPU); see evaluation.json";
        }
        auto* proto = dynamic_cast<nets::MProtoNet3DImpl*>(&model);
        for (const auto& ranked : e.top) {
          const int64_t p = ranked.prototype;
          CasePrototype cp;
          cp.prototype = p;
          cp.similarity = ranked.similarity;
          cp.cls = ranked.cls;
          if (ranked.source && proto != nullptr) {
            const auto& src = *ranked.source;
            cp.source = src.subject_id;
            try {
              cp.viewer_source = add_source(view.viewer, run, *proto, p, src);
            } catch (const std::exception& ex) {
              cm.note += (cm.note.empty() ? "" : "; ") + std::string("prototype #") + std::to_string(p) +
                         "'s source case is not in the 3D view: " + ex.what();
            }
            if (src.picture) {
              auto key = std::make_tuple(r, cm.fold, p);
              auto it = proto_images.find(key);
              if (it == proto_images.end()) {
                const std::string f = "proto_" + std::to_string(r) + "_f" + std::to_string(cm.fold) + "_p" +
                                      std::to_string(p) + ".png";
                if (!fs::exists(files_dir / f)) write_png(files_dir / f, render_prototype(src));
                it = proto_images.emplace(key, rel + "/" + f).first;
              }
              cp.image = it->second;
            }
          }
          cm.top.push_back(cp);
        }
      } catch (const std::exception& e) {
        cm.note = e.what();
      }
      view.models.push_back(std::move(cm));
    }
    limit_viewer(view.viewer);
    views.push_back(std::move(view));
  }
  return views;
}

fs::path write_report(const ReportOptions& options) {
  const auto log = options.log ? options.log : ProgressLog([](const std::string& l) { std::cout << l << std::endl; });
  return with_context("while writing the report in " + options.dir.string(), [&] {
    const auto runs = load_report_runs(options.dir);
    const fs::path files_dir = options.dir / kReportFiles;
    const std::string rel = kReportFiles;
    std::error_code ec;
    fs::remove_all(files_dir, ec);
    fs::create_directories(files_dir);

    // Extra rows: given now (and saved), else those saved by an earlier call.
    auto extra = options.extra_settings;
    const fs::path saved = options.dir / "report_settings.json";
    if (!extra.empty()) {
      json j = json::array();
      for (const auto& [k, v] : extra) j.push_back({k, v});
      write_text_atomically(saved, json{{"extra_settings", j}}.dump(2) + "\n");
    } else if (fs::exists(saved)) {
      const json j = json::parse(read_text_file(saved), nullptr, false);
      if (j.is_object() && j.contains("extra_settings") && j["extra_settings"].is_array())
        for (const auto& e : j["extra_settings"])
          if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string())
            extra.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
    }

    log("report: " + std::to_string(runs.size()) + " run(s): prototype gallery");
    const auto gallery = make_gallery(runs, options.gallery_fold, files_dir, rel);
    std::vector<std::string> notes;
    std::vector<CaseView> cases;
    CaseOptions co;
    co.cases = options.cases;
    co.top_prototypes = options.top_prototypes;
    co.data_dir = options.data_dir;
    co.cache_dir = options.cache_dir;
    co.report_dir = options.dir;
    co.log = log;
    try {
      cases = make_cases(runs, co, files_dir, rel, notes);
    } catch (const std::exception& e) {
      notes.push_back(std::string("test cases not shown: ") + e.what());
    }
    if (std::any_of(cases.begin(), cases.end(), [](const CaseView& c) { return !c.viewer.modalities.empty(); })) {
      try {
        copy_viewer_bundle(files_dir);
      } catch (const std::exception& e) {
        for (auto& c : cases) {
          c.viewer = CaseViewer{};
          c.viewer.note = std::string("The interactive viewer is not included: ") + e.what();
        }
      }
    }
    const fs::path out = options.dir / "report.html";
    std::string page;
    try {
      const json comparison = read_optional_json(options.dir / "comparison.json");
      page = report_html(runs, gallery, cases, extra, notes, options.title, comparison);
    } catch (const json::exception& e) {
      throw Error(std::string("a run.json / results.json / evaluation.json has an unexpected structure (") + e.what() +
                  "); expected files written by `mprotonet train` and `mprotonet evaluate`");
    }
    write_text_atomically(out, page);
    return fs::absolute(out).lexically_normal();
  });
}

}  // namespace mprotonet
