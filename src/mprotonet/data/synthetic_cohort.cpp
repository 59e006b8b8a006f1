// SPDX-License-Identifier: MIT
// Writing the synthetic cohort in the BraTS 2020 layout, in parallel, atomically per case
// (see synthetic.h); the cases themselves come from synthetic.cpp.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <sstream>
#include <thread>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/data/synthetic.h"
#include "mprotonet/io/nifti.h"

namespace mprotonet {

namespace fs = std::filesystem;

namespace {

constexpr const char* kGeneratorName = "mprotonet synthetic BraTS-like cohort";
// Bump when the output of a given seed changes: a previous cohort of another version is
// regenerated rather than kept. 2: anatomy from the MNI152 tissue map, grown tumours, MR physics.
constexpr int kGeneratorVersion = 2;

nlohmann::json options_json(const SyntheticOptions& o) {
  // threads is left out on purpose: it never changes the output; ageing is recorded only when
  // on, so a cohort without it stays byte-identical to one made before the option existed.
  nlohmann::json j = {{"cases", o.cases},
          {"seed", o.seed},
          {"shape", o.shape},
          {"spacing", o.spacing},
          {"hgg_fraction", o.hgg_fraction},
          {"atypical_fraction", o.atypical_fraction},
          {"bias_strength", o.bias_strength},
          {"noise_level", o.noise_level},
          {"intensity_scale_jitter", o.intensity_scale_jitter},
          {"max_rotation_deg", o.max_rotation_deg},
          {"max_shift_mm", o.max_shift_mm},
          {"brain_scale_jitter", o.brain_scale_jitter},
          {"deformation_mm", o.deformation_mm}};
  if (o.ageing) j["ageing"] = true;
  return j;
}

nlohmann::json info_json(const SyntheticCaseInfo& c, double voxel_mm3) {
  nlohmann::json labels = nlohmann::json::object(), volumes = nlohmann::json::object();
  for (const auto& [label, n] : c.label_voxels) {
    labels[std::to_string(label)] = n;
    volumes[std::to_string(label)] = static_cast<double>(n) * voxel_mm3;
  }
  return {{"index", c.index},
          {"subject_id", c.subject_id},
          {"grade", c.hgg ? "HGG" : "LGG"},
          {"atypical", c.atypical},
          {"tumour_centre_mm", c.tumour_centre_mm},
          {"tumour_centre_voxel", c.tumour_centre_voxel},
          {"label_voxels", labels},
          {"label_volume_mm3", volumes},
          {"brain_voxels", c.brain_voxels}};
}

SyntheticCaseInfo info_from_json(const nlohmann::json& j) {
  SyntheticCaseInfo c;
  c.index = j.at("index").get<int>();
  c.subject_id = j.at("subject_id").get<std::string>();
  c.hgg = j.at("grade").get<std::string>() == "HGG";
  c.atypical = j.at("atypical").get<bool>();
  c.tumour_centre_mm = j.at("tumour_centre_mm").get<std::array<double, 3>>();
  c.tumour_centre_voxel = j.at("tumour_centre_voxel").get<std::array<int64_t, 3>>();
  for (const auto& [k, v] : j.at("label_voxels").items()) c.label_voxels[std::stoi(k)] = v.get<int64_t>();
  c.brain_voxels = j.at("brain_voxels").get<int64_t>();
  return c;
}

std::vector<std::string> case_files(const std::string& id) {
  std::vector<std::string> files;
  for (const auto& m : synthetic_modalities()) files.push_back(id + "_" + m + ".nii.gz");
  files.push_back(id + "_seg.nii.gz");
  return files;
}

bool is_case_folder_name(const std::string& name) {
  const std::string prefix = "BraTS20_Training_";
  if (name.rfind(prefix, 0) != 0 || name.size() == prefix.size()) return false;
  return std::all_of(name.begin() + static_cast<std::ptrdiff_t>(prefix.size()), name.end(),
                     [](char ch) { return ch >= '0' && ch <= '9'; });
}

// Returns the previous synthetic.json of dir, or null when dir is missing or empty; throws
// when dir holds something else.
nlohmann::json previous_cohort(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return nullptr;
  if (!fs::is_directory(dir, ec)) throw Error(dir.string() + ": exists and is not a directory; expected a new or empty folder for the synthetic cohort");
  if (fs::directory_iterator(dir, ec) == fs::directory_iterator()) {
    if (ec) throw Error(dir.string() + ": cannot list folder: " + ec.message());
    return nullptr;
  }
  const fs::path marker = dir / "synthetic.json";
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_text_file(marker));
  } catch (const std::exception&) {
    j = nullptr;
  }
  if (!j.is_object() || j.value("generator", "") != kGeneratorName)
    throw Error(dir.string() + ": refusing to write a synthetic cohort into a non-empty folder that is not a previous "
                "synthetic cohort (no valid synthetic.json from `mprotonet synth`); choose a new or empty folder");
  return j;
}

}  // namespace

std::vector<SyntheticCaseInfo> write_synthetic_cohort(const fs::path& dir, const SyntheticOptions& options,
                                                      const SyntheticProgress& progress, const SyntheticCaseHook& hook) {
  validate(options);
  const nlohmann::json opts = options_json(options);
  const nlohmann::json previous = previous_cohort(dir);
  const int n = options.cases;

  // An identical complete cohort is kept (re-running the demo costs nothing).
  if (!previous.is_null() && previous.value("complete", false) && previous.value("version", 0) == kGeneratorVersion &&
      previous.value("options", nlohmann::json()) == opts && fs::exists(dir / "name_mapping.csv")) {
    try {
      std::vector<SyntheticCaseInfo> infos;
      bool all_present = true;
      for (const auto& c : previous.at("cases")) {
        infos.push_back(info_from_json(c));
        for (const auto& f : case_files(infos.back().subject_id))
          all_present &= fs::exists(dir / infos.back().subject_id / f);
      }
      if (all_present && static_cast<int>(infos.size()) == n) {
        if (progress) progress(n, n);
        return infos;
      }
    } catch (const std::exception&) {
      // fall through and regenerate
    }
  }

  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir.string() + ": cannot create folder: " + ec.message());
  // Until the new CSV exists the folder is visibly incomplete.
  fs::remove(dir / "name_mapping.csv", ec);
  nlohmann::json marker = {{"generator", kGeneratorName}, {"version", kGeneratorVersion}, {"complete", false}, {"options", opts}};
  write_text_atomically(dir / "synthetic.json", marker.dump(2) + "\n");

  unsigned workers = options.threads > 0 ? static_cast<unsigned>(options.threads) : std::thread::hardware_concurrency();
  workers = std::clamp<unsigned>(workers, 1, static_cast<unsigned>(n));

  std::vector<SyntheticCaseInfo> infos(static_cast<size_t>(n));
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  std::mutex mutex;
  std::condition_variable cv;
  int done = 0;
  std::exception_ptr error;

  auto work = [&] {
    for (;;) {
      const int i = next.fetch_add(1);
      if (i >= n || failed.load()) return;
      try {
        with_context("while generating synthetic case " + synthetic_subject_id(i), [&] {
          SyntheticCase c = generate_synthetic_case(options, i);
          if (hook) hook(c);
          const std::string id = c.info.subject_id;
          const fs::path final_dir = dir / id;
          const fs::path tmp_dir = dir / (".tmp-" + id + "-" + std::to_string(::getpid()));
          std::error_code e;
          fs::remove_all(tmp_dir, e);
          fs::create_directories(tmp_dir, e);
          if (e) throw Error(tmp_dir.string() + ": cannot create folder: " + e.message());
          const auto files = case_files(id);
          try {
            for (int m = 0; m < 4; ++m)
              write_nifti(tmp_dir / files[static_cast<size_t>(m)], c.images[static_cast<size_t>(m)], DataType::kInt16);
            write_nifti(tmp_dir / files[4], c.seg, DataType::kUInt8);
          } catch (...) {
            fs::remove_all(tmp_dir, e);  // a full disk leaves no partial case behind
            throw;
          }
          fs::remove_all(final_dir, e);
          fs::rename(tmp_dir, final_dir, e);
          if (e) throw Error("cannot rename " + tmp_dir.string() + " to " + final_dir.string() + ": " + e.message());
          infos[static_cast<size_t>(i)] = c.info;
        });
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!error) error = std::current_exception();
        failed = true;
        cv.notify_all();
        return;
      }
      std::lock_guard<std::mutex> lock(mutex);
      ++done;
      cv.notify_all();
    }
  };

  std::vector<std::thread> pool;
  for (unsigned t = 0; t < workers; ++t) pool.emplace_back(work);
  {
    std::unique_lock<std::mutex> lock(mutex);
    int reported = 0;
    while (done < n && !failed) {
      cv.wait(lock, [&] { return done != reported || failed.load(); });
      if (done != reported && progress) {
        reported = done;
        lock.unlock();
        progress(reported, n);
        lock.lock();
      }
      reported = done;
    }
  }
  for (auto& t : pool) t.join();
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (Error& e) {
      e.add_context("while writing synthetic cohort " + dir.string());
      throw;
    }
  }

  // Drop case folders of a previous, larger cohort and stale temporaries.
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(".tmp-BraTS20_Training_", 0) == 0 ||
        (is_case_folder_name(name) && std::stoi(name.substr(17)) > n)) {
      fs::remove_all(entry.path(), ec);
    }
  }

  const double voxel_mm3 = options.spacing * options.spacing * options.spacing;
  marker["complete"] = true;
  marker["cases"] = nlohmann::json::array();
  for (const auto& c : infos) marker["cases"].push_back(info_json(c, voxel_mm3));
  write_text_atomically(dir / "synthetic.json", marker.dump(2) + "\n");

  std::ostringstream csv;
  csv << "Grade,BraTS_2017_subject_ID,BraTS_2018_subject_ID,TCGA_TCIA_subject_ID,BraTS_2019_subject_ID,"
         "BraTS_2020_subject_ID\n";
  for (const auto& c : infos) csv << (c.hgg ? "HGG" : "LGG") << ",NA,NA,NA,NA," << c.subject_id << "\n";
  write_text_atomically(dir / "name_mapping.csv", csv.str());
  return infos;
}

}  // namespace mprotonet
