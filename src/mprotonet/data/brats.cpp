// SPDX-License-Identifier: MIT
// BraTS cohort discovery: grade table parsing, modality file matching, geometry checks.
#include "mprotonet/data/brats.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/io/nifti.h"

namespace fs = std::filesystem;

namespace mprotonet {

namespace {

/// Strips ".nii" / ".nii.gz"; returns "" for other files.
std::string nifti_stem(const std::string& name) {
  for (const char* ext : {".nii.gz", ".nii"}) {
    const std::string e = ext;
    if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0)
      return name.substr(0, name.size() - e.size());
  }
  return "";
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

/// Maps the modality token after the last '_' or '-' to a channel (0..3), 4 = seg, -1 = other.
int modality_slot(const std::string& stem) {
  const auto pos = stem.find_last_of("_-");
  if (pos == std::string::npos) return -1;
  static const std::map<std::string, int> kTokens{
      {"t1", 0}, {"t1n", 0}, {"t1ce", 1}, {"t1c", 1}, {"t2", 2}, {"t2w", 2},
      {"flair", 3}, {"t2f", 3}, {"seg", 4}};
  const auto it = kTokens.find(lower(stem.substr(pos + 1)));
  return it == kTokens.end() ? -1 : it->second;
}

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') { field += '"'; ++i; }
      else if (c == '"') quoted = false;
      else field += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.push_back(field);
      field.clear();
    } else {
      field += c;
    }
  }
  fields.push_back(field);
  for (auto& f : fields) {
    const auto b = f.find_first_not_of(" \t");
    const auto e = f.find_last_not_of(" \t");
    f = (b == std::string::npos) ? "" : f.substr(b, e - b + 1);
  }
  return fields;
}

bool affines_close(const Affine& a, const Affine& b, double tol) {
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c)
      if (std::fabs(a[r][c] - b[r][c]) > tol) return false;
  return true;
}

std::string shape_string(const std::array<int64_t, 8>& dim) {
  std::ostringstream s;
  for (int i = 1; i <= std::max<int64_t>(3, std::min<int64_t>(dim[0], 7)); ++i) s << (i > 1 ? "x" : "") << dim[i];
  return s.str();
}

/// Returns the problems of one subject's geometry ("" entries never).
std::vector<std::string> geometry_problems(const CaseFiles& files) {
  std::vector<std::string> problems;
  std::vector<std::pair<fs::path, NiftiHeader>> headers;
  std::vector<fs::path> all(files.images.begin(), files.images.end());
  if (files.seg) all.push_back(*files.seg);
  for (const auto& p : all) {
    try {
      headers.emplace_back(p, read_nifti_header(p));
    } catch (const std::exception& e) {
      problems.push_back(e.what());
    }
  }
  if (headers.size() < 2) return problems;
  const auto& [ref_path, ref] = headers.front();
  for (size_t i = 1; i < headers.size(); ++i) {
    const auto& [path, h] = headers[i];
    bool same_shape = true;
    for (int d = 1; d <= 3; ++d) same_shape = same_shape && h.dim[d] == ref.dim[d];
    if (!same_shape)
      problems.push_back(path.filename().string() + " has shape " + shape_string(h.dim) + " but " +
                         ref_path.filename().string() + " has " + shape_string(ref.dim));
    else if (!affines_close(h.affine, ref.affine, 1e-3))
      problems.push_back(path.filename().string() + " has a different affine (voxel-to-world matrix) than " +
                         ref_path.filename().string() + ": the modalities are not co-registered on one grid");
  }
  return problems;
}

struct CaseScan {
  CaseFiles files;
  std::vector<std::string> problems;
};

CaseScan scan_case(const fs::path& case_dir) {
  CaseScan scan;
  scan.files.dir = case_dir;
  // The folder's name, also for "case/" and "." (whose last path element is empty or ".").
  fs::path named = fs::absolute(case_dir).lexically_normal();
  while (named.filename().empty() && named.has_relative_path()) named = named.parent_path();
  scan.files.id = named.filename().string();
  std::array<std::vector<fs::path>, kNumModalities + 1> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(case_dir, ec)) {
    if (!entry.is_regular_file()) continue;
    const std::string stem = nifti_stem(entry.path().filename().string());
    if (stem.empty()) continue;
    const int slot = modality_slot(stem);
    if (slot >= 0) found[static_cast<size_t>(slot)].push_back(entry.path());
  }
  if (ec) {
    scan.problems.push_back("cannot list folder " + case_dir.string() + ": " + ec.message());
    return scan;
  }
  for (int m = 0; m <= kNumModalities; ++m) {
    auto& candidates = found[static_cast<size_t>(m)];
    std::sort(candidates.begin(), candidates.end());
    const std::string name = m < kNumModalities ? kModalityNames[static_cast<size_t>(m)] : "seg";
    if (candidates.size() > 1) {
      std::string list;
      for (const auto& c : candidates) list += (list.empty() ? "" : ", ") + c.filename().string();
      scan.problems.push_back("several files for modality " + name + ": " + list);
    } else if (candidates.empty() && m < kNumModalities) {
      scan.problems.push_back("missing modality " + name + " (expected a file named like " + scan.files.id + "_" +
                              name + ".nii.gz)");
    } else if (!candidates.empty()) {
      if (m < kNumModalities) scan.files.images[static_cast<size_t>(m)] = candidates.front();
      else scan.files.seg = candidates.front();
    }
  }
  return scan;
}

std::string join_problems(const std::vector<std::string>& problems) {
  std::string out;
  for (const auto& p : problems) out += "\n  - " + p;
  return out;
}

}  // namespace

CaseFiles find_case_files(const fs::path& case_dir) {
  if (!fs::is_directory(case_dir))
    throw Error(case_dir.string() + ": " + (fs::exists(case_dir) ? "is not a folder" : "no such folder"));
  CaseScan scan = scan_case(case_dir);
  if (!scan.problems.empty())
    throw Error("case folder " + case_dir.string() + " is not usable:" + join_problems(scan.problems));
  return scan.files;
}

namespace {
/// s with control characters shown as '?' (a NUL would end the message), cut at 120 characters.
std::string printable_line(const std::string& s) {
  std::string out = s.substr(0, 120);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out + (s.size() > 120 ? "..." : "");
}
}  // namespace

std::vector<GradeRow> read_grade_table(const fs::path& csv) {
  const std::string text = read_text_file(csv);
  // A table saved as UTF-16 (Excel's "Unicode text") has a NUL in every other byte: say so
  // rather than quote its lines, which a NUL would cut.
  const bool utf16_bom = text.rfind("\xFF\xFE", 0) == 0 || text.rfind("\xFE\xFF", 0) == 0;
  if (utf16_bom || text.find('\0') != std::string::npos)
    throw Error(csv.string() + ": the grade table is " +
                (utf16_bom ? std::string("UTF-16 text (it starts with a UTF-16 byte-order mark)")
                           : std::string("not plain text (it holds NUL bytes; UTF-16 without a byte-order mark?)")) +
                "; save it as a UTF-8 (or ASCII) CSV file");
  std::vector<GradeRow> rows;
  std::vector<std::string> problems;
  std::map<std::string, int> seen;
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  bool header_seen = false;
  size_t columns = 0;  // of the header; every row must have as many (the id is the last one)
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_no == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line = line.substr(3);
    if (line.find_first_not_of(" \t,") == std::string::npos) continue;  // blank line
    if (!header_seen) {
      header_seen = true;
      const auto header = split_csv_line(line);
      columns = header.size();
      if (header.size() < 2)
        problems.push_back("line " + std::to_string(line_no) + ": header has " + std::to_string(header.size()) +
                           " column(s); expected the grade first and the subject id last");
      continue;
    }
    const auto fields = split_csv_line(line);
    if (fields.size() < 2) {
      problems.push_back("line " + std::to_string(line_no) + ": expected at least 2 comma-separated columns, got '" +
                         printable_line(line) + "'");
      continue;
    }
    if (columns >= 2 && fields.size() != columns) {
      problems.push_back("line " + std::to_string(line_no) + ": " + std::to_string(fields.size()) +
                         " comma-separated columns, but the header has " + std::to_string(columns) +
                         " (the grade is the first column and the subject id the last; an extra or missing column "
                         "would take another field for the id): '" + printable_line(line) + "'");
      continue;
    }
    GradeRow row{fields.front(), fields.back(), line_no};
    const std::string g = lower(row.grade);
    if (g != "hgg" && g != "lgg") {
      problems.push_back("line " + std::to_string(line_no) + ": unknown grade '" + printable_line(row.grade) + "' for subject '" +
                         printable_line(row.id) + "' (expected HGG or LGG)");
      continue;
    }
    row.grade = (g == "hgg") ? "HGG" : "LGG";
    if (row.id.empty() || row.id == "NA") {
      problems.push_back("line " + std::to_string(line_no) + ": empty subject id in the last column");
      continue;
    }
    // The id names a folder under the cohort root and, later, cache and output files: an id such
    // as "../../etc/x" must never become a path outside those folders.
    try {
      check_path_component(row.id, "subject id");
    } catch (const Error& e) {
      problems.push_back("line " + std::to_string(line_no) + ": " + e.what());
      continue;
    }
    if (auto it = seen.find(row.id); it != seen.end()) {
      problems.push_back("line " + std::to_string(line_no) + ": duplicate subject id '" + row.id + "' (first on line " +
                         std::to_string(it->second) + ")");
      continue;
    }
    seen[row.id] = line_no;
    rows.push_back(row);
  }
  if (!header_seen) problems.push_back("the file is empty (expected a header line and one row per subject)");
  else if (rows.empty() && problems.empty()) problems.push_back("no subject rows after the header");
  if (!problems.empty()) throw Error(csv.string() + ": malformed grade table:" + join_problems(problems));
  return rows;
}

int Dataset::count(int label) const {
  return static_cast<int>(std::count_if(subjects.begin(), subjects.end(), [&](const Subject& s) { return s.label == label; }));
}

std::vector<int> Dataset::labels() const {
  std::vector<int> out;
  out.reserve(subjects.size());
  for (const auto& s : subjects) out.push_back(s.label);
  return out;
}

Dataset discover_brats(const fs::path& root, const DatasetOptions& options) {
  if (!fs::is_directory(root))
    throw Error(root.string() + ": " + (fs::exists(root) ? "is not a folder" : "no such folder") +
                " (expected a BraTS training folder with name_mapping.csv and one folder per subject)");
  Dataset ds;
  ds.root = root;

  // Candidate subject folders: root/* or root/{HGG,LGG}/*.
  struct Candidate {
    fs::path dir;
    std::string folder_grade;
  };
  std::vector<Candidate> candidates;
  const bool grade_folders = fs::is_directory(root / "HGG") || fs::is_directory(root / "LGG");
  auto list_dirs = [](const fs::path& dir) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_directory() && e.path().filename().string().front() != '.') out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
  };
  if (grade_folders) {
    for (const char* g : {"HGG", "LGG"})
      if (fs::is_directory(root / g))
        for (const auto& d : list_dirs(root / g)) candidates.push_back({d, g});
  } else {
    for (const auto& d : list_dirs(root)) candidates.push_back({d, ""});
  }

  // Grade source.
  const fs::path csv = options.labels_csv ? *options.labels_csv : root / "name_mapping.csv";
  std::vector<GradeRow> rows;
  if (options.labels_csv || fs::exists(csv)) {
    rows = read_grade_table(csv);
    ds.grade_source = csv.filename().string();
  } else if (grade_folders) {
    ds.grade_source = "HGG/LGG folders";
  } else {
    ds.grade_source = "none";
  }

  std::vector<std::string> problems;
  std::map<std::string, size_t> by_id;
  std::vector<Subject> subjects;
  for (const auto& c : candidates) {
    const std::string id = c.dir.filename().string();
    if (by_id.count(id)) {
      problems.push_back(id + ": duplicate subject folder (" + c.dir.string() + ")");
      continue;
    }
    CaseScan scan = scan_case(c.dir);
    if (scan.problems.empty() && options.require_seg && !scan.files.seg)
      scan.problems.push_back("no segmentation file (expected " + id + "_seg.nii.gz)");
    if (scan.problems.empty() && options.check_geometry) scan.problems = geometry_problems(scan.files);
    Subject s;
    s.files = scan.files;
    if (!c.folder_grade.empty()) {
      s.grade = c.folder_grade;
      s.label = c.folder_grade == "HGG" ? kLabelHGG : kLabelLGG;
    }
    for (const auto& p : scan.problems) problems.push_back(id + ": " + p);
    if (!scan.problems.empty()) {
      if (options.skip_bad) ds.skipped.push_back(id + ": " + scan.problems.front());
      continue;
    }
    by_id[id] = subjects.size();
    subjects.push_back(std::move(s));
  }

  if (!rows.empty()) {
    // Grades from the table; order = table order. Folders missing from the table are unlabelled.
    std::vector<Subject> ordered;
    std::set<std::string> used;
    for (const auto& row : rows) {
      auto it = by_id.find(row.id);
      if (it == by_id.end()) {
        const bool exists = std::any_of(candidates.begin(), candidates.end(),
                                        [&](const Candidate& c) { return c.dir.filename() == row.id; });
        if (!exists) problems.push_back(row.id + ": listed on line " + std::to_string(row.line) + " of " + csv.filename().string() +
                                        " but there is no folder " + (root / row.id).string());
        continue;
      }
      Subject s = subjects[it->second];
      s.grade = row.grade;
      s.label = row.grade == "HGG" ? kLabelHGG : kLabelLGG;
      ordered.push_back(std::move(s));
      used.insert(row.id);
    }
    for (const auto& s : subjects)
      if (!used.count(s.files.id)) {
        if (options.require_labels) {
          problems.push_back(s.files.id + ": folder not listed in " + csv.filename().string() + " (no grade)");
          if (options.skip_bad) ds.skipped.push_back(s.files.id + ": not listed in " + csv.filename().string());
        } else {
          ordered.push_back(s);
        }
      }
    subjects = std::move(ordered);
  } else if (options.require_labels && !grade_folders) {
    problems.push_back("no grade source: " + csv.string() +
                       " does not exist and there are no HGG/ LGG/ sub-folders (give a table with --labels)");
  }

  ds.subjects = std::move(subjects);
  if (!problems.empty() && !options.skip_bad)
    throw Error(root.string() + ": " + std::to_string(problems.size()) + " problem(s) in the cohort (use --skip-bad to leave those subjects out):" +
                join_problems(problems));
  if (ds.subjects.empty())
    throw Error(root.string() + ": no usable subject found" + (problems.empty() ? std::string(" (no subject folders)") : ":" + join_problems(problems)));
  return ds;
}

}  // namespace mprotonet
