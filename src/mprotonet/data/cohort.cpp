// SPDX-License-Identifier: MIT
// Preprocessing cache: binary per-subject files, memory-mapped, checksummed, built in parallel.
#include "mprotonet/data/cohort.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"

namespace fs = std::filesystem;

namespace mprotonet {

namespace {

constexpr char kMagic[8] = {'M', 'P', 'N', 'C', 'A', 'C', 'H', 'E'};
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kHeaderBytes = 256;  // payload starts 64-byte aligned

}  // namespace

// Outside the anonymous namespace: MappedCase (declared in cohort.h) holds one.
struct CacheHeader {
  char magic[8];
  uint32_t version;
  uint32_t has_seg;
  int64_t shape[3];
  double affine[16];
  uint64_t checksum;  // FNV-1a of the payload
  uint64_t payload_bytes;
};
static_assert(sizeof(CacheHeader) <= kHeaderBytes, "header must fit");

namespace {

uint64_t fnv1a(const void* data, size_t n, uint64_t h = 1469598103934665603ULL) {
  // Word-wise variant for speed on large payloads; still a pure function of the bytes.
  const auto* p = static_cast<const unsigned char*>(data);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h ^= w;
    h *= 1099511628211ULL;
  }
  for (; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace

std::string hash_hex(const std::string& text) {
  // Byte-wise FNV-1a for short keys.
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

class MappedCase {
 public:
  MappedCase(const fs::path& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw Error(path.string() + ": cannot open cache file: " + std::strerror(errno));
    struct stat st {};
    ::fstat(fd_, &st);
    size_ = static_cast<size_t>(st.st_size);
    if (size_ < kHeaderBytes) fail("file is shorter than its header (" + std::to_string(size_) + " bytes)");
    base_ = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd_, 0);
    if (base_ == MAP_FAILED) {
      base_ = nullptr;
      fail(std::string("mmap failed: ") + std::strerror(errno));
    }
    std::memcpy(&header_, base_, sizeof header_);
    if (std::memcmp(header_.magic, kMagic, 8) != 0) fail("not a cache file (bad magic)");
    if (header_.version != kFormatVersion) fail("cache format version " + std::to_string(header_.version) + ", expected " + std::to_string(kFormatVersion));
    for (int64_t s : header_.shape)
      if (s <= 0 || s > 4096) fail("impossible shape in header");
    const uint64_t voxels = static_cast<uint64_t>(header_.shape[0] * header_.shape[1] * header_.shape[2]);
    const uint64_t expect = voxels * 4 * sizeof(float) + (header_.has_seg ? voxels : 0);
    if (header_.payload_bytes != expect || kHeaderBytes + expect != size_) fail("size does not match its header (truncated?)");
    if (fnv1a(payload(), expect) != header_.checksum) fail("checksum mismatch (corrupt or partially written)");
  }
  ~MappedCase() {
    if (base_) ::munmap(base_, size_);
    if (fd_ >= 0) ::close(fd_);
  }
  MappedCase(const MappedCase&) = delete;
  MappedCase& operator=(const MappedCase&) = delete;

  const unsigned char* payload() const { return static_cast<const unsigned char*>(base_) + kHeaderBytes; }
  const CacheHeader& header() const { return header_; }
  int64_t voxels() const { return header_.shape[0] * header_.shape[1] * header_.shape[2]; }
  Affine affine() const {
    Affine a;
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 4; ++c) a[r][c] = header_.affine[r * 4 + c];
    return a;
  }

 private:
  [[noreturn]] void fail(const std::string& why) { throw Error(path_.string() + ": " + why); }
  fs::path path_;
  int fd_ = -1;
  void* base_ = nullptr;
  size_t size_ = 0;
  CacheHeader header_{};
};

torch::Tensor mapped_image(const MappedCase& c) {
  const auto& h = c.header();
  return torch::from_blob(const_cast<unsigned char*>(c.payload()), {4, h.shape[0], h.shape[1], h.shape[2]},
                          torch::TensorOptions().dtype(torch::kFloat32));
}

void write_cache_file(const fs::path& path, const PreprocessedCase& c) {
  const auto& ref = c.images[0];
  CacheHeader h{};
  std::memcpy(h.magic, kMagic, 8);
  h.version = kFormatVersion;
  h.has_seg = c.seg ? 1 : 0;
  for (int a = 0; a < 3; ++a) h.shape[a] = ref.shape[a];
  for (int r = 0; r < 4; ++r)
    for (int col = 0; col < 4; ++col) h.affine[r * 4 + col] = ref.affine[r][col];
  const size_t voxels = static_cast<size_t>(ref.numel());
  std::vector<unsigned char> payload(voxels * 4 * sizeof(float) + (c.seg ? voxels : 0));
  for (int m = 0; m < kNumModalities; ++m) {
    check(c.images[static_cast<size_t>(m)].data.size() == voxels, "modalities of " + c.id + " differ in size");
    std::memcpy(payload.data() + m * voxels * sizeof(float), c.images[static_cast<size_t>(m)].data.data(), voxels * sizeof(float));
  }
  if (c.seg) {
    check(c.seg->data.size() == voxels, "segmentation of " + c.id + " differs in size");
    unsigned char* dst = payload.data() + 4 * voxels * sizeof(float);
    for (size_t i = 0; i < voxels; ++i) dst[i] = static_cast<unsigned char>(c.seg->data[i]);
  }
  h.payload_bytes = payload.size();
  h.checksum = fnv1a(payload.data(), payload.size());
  std::vector<unsigned char> file(kHeaderBytes + payload.size(), 0);
  std::memcpy(file.data(), &h, sizeof h);
  std::memcpy(file.data() + kHeaderBytes, payload.data(), payload.size());
  write_bytes_atomically(path, file.data(), file.size());
}

std::shared_ptr<MappedCase> open_cache_file(const fs::path& path) { return std::make_shared<MappedCase>(path); }

fs::path default_cache_root() {
  if (const char* env = std::getenv("MPROTONET_CACHE"); env && *env) return env;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return fs::path(xdg) / "mprotonet";
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".cache" / "mprotonet";
  // HOME unset (a service, `env -i`): the account's home from the password database. Never a
  // shared folder such as /tmp, where another user could plant cache entries we would read.
  std::vector<char> buf(16384);
  struct passwd pw {};
  struct passwd* found = nullptr;
  if (::getpwuid_r(::getuid(), &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr && pw.pw_dir != nullptr &&
      pw.pw_dir[0] == '/')
    return fs::path(pw.pw_dir) / ".cache" / "mprotonet";
  throw Error("no private folder for the preprocessing cache: HOME and XDG_CACHE_HOME are not set and user " +
              std::to_string(::getuid()) + " has no home folder; give --cache DIR or set MPROTONET_CACHE");
}

namespace {

/// Age after which a temporary file in a cache folder is taken as left behind by a killed
/// process. A live builder renames each temporary as soon as one subject is written (seconds,
/// minutes on a slow disk), so an hour never removes the file of a concurrent builder.
constexpr auto kStaleTemporaryAge = std::chrono::hours(1);

/// True for the names write_atomically (temporary_sibling) gives this folder's own files:
/// "<id>-<hash>.mpc.tmp-<pid>-<n>" and "settings.json.tmp-<pid>-<n>". Anything else a user
/// or another tool put in the folder is never touched.
bool is_own_temporary(const std::string& name) {
  const size_t at = name.rfind(".tmp-");
  if (at == std::string::npos) return false;
  const std::string base = name.substr(0, at), suffix = name.substr(at + 5);
  const size_t dash = suffix.find('-');
  auto digits = [](const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (dash == std::string::npos || !digits(suffix.substr(0, dash)) || !digits(suffix.substr(dash + 1))) return false;
  const bool mpc = base.size() > 4 && base.compare(base.size() - 4, 4, ".mpc") == 0;
  return mpc || base == "settings.json";
}

/// Removes stale temporaries (see above) from the cache folder. Best effort: a file another
/// builder removes first, or one we may not delete, is skipped, never an error.
void remove_stale_temporaries(const fs::path& dir) {
  const auto now = fs::file_time_type::clock::now();
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code fe;
    // symlink_status: a link is never followed, only regular files of our own are removed.
    if (!fs::is_regular_file(it->symlink_status(fe)) || fe) continue;
    if (!is_own_temporary(it->path().filename().string())) continue;
    const auto mtime = fs::last_write_time(it->path(), fe);
    if (fe || now - mtime < kStaleTemporaryAge) continue;
    fs::remove(it->path(), fe);
  }
}

std::string inputs_signature(const CaseFiles& files, bool with_seg) {
  std::ostringstream s;
  std::vector<fs::path> all(files.images.begin(), files.images.end());
  if (with_seg && files.seg) all.push_back(*files.seg);
  for (const auto& p : all) {
    std::error_code ec;
    const auto abs = fs::absolute(p, ec);
    const auto size = fs::file_size(p, ec);
    const auto mtime = fs::last_write_time(p, ec).time_since_epoch().count();
    s << abs.string() << "|" << size << "|" << mtime << ";";
  }
  return s.str();
}

}  // namespace

PreprocessedCohort PreprocessedCohort::build(const Dataset& dataset, const CohortOptions& options,
                                             const CohortProgress& progress) {
  PreprocessedCohort cohort;
  const std::string settings = options.preprocess.key() + ";format=" + std::to_string(kFormatVersion) +
                               ";seg=" + std::to_string(options.with_seg);
  const fs::path root = options.cache_root.empty() ? default_cache_root() : options.cache_root;
  cohort.cache_dir_ = root / hash_hex(settings);
  std::error_code ec;
  fs::create_directories(cohort.cache_dir_, ec);
  if (ec) throw Error("cannot create cache folder " + cohort.cache_dir_.string() + ": " + ec.message());
  remove_stale_temporaries(cohort.cache_dir_);
  if (!fs::exists(cohort.cache_dir_ / "settings.json")) {
    nlohmann::json j{{"settings", settings}, {"spacing_mm", options.preprocess.spacing_mm},
                     {"fov_mm", options.preprocess.fov_mm}, {"zscore", options.preprocess.zscore}};
    write_text_atomically(cohort.cache_dir_ / "settings.json", j.dump(2) + "\n");
  }

  const int64_t n = static_cast<int64_t>(dataset.subjects.size());
  std::vector<fs::path> paths(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const auto& files = dataset.subjects[static_cast<size_t>(i)].files;
    check_path_component(files.id, "subject id");  // the id becomes a cache file name
    paths[static_cast<size_t>(i)] = cohort.cache_dir_ / (files.id + "-" + hash_hex(inputs_signature(files, options.with_seg)) + ".mpc");
  }
  cohort.cases_.resize(static_cast<size_t>(n));

  std::atomic<int64_t> next{0}, done{0}, computed{0};
  std::mutex mu;
  std::vector<std::string> errors;
  auto worker = [&] {
    for (int64_t i; (i = next.fetch_add(1)) < n;) {
      const auto& subject = dataset.subjects[static_cast<size_t>(i)];
      const auto& path = paths[static_cast<size_t>(i)];
      bool cached = false;
      try {
        std::shared_ptr<MappedCase> mapped;
        if (fs::exists(path)) {
          try {
            mapped = open_cache_file(path);
            cached = true;
          } catch (const Error&) {
            mapped.reset();  // corrupt: recompute below
          }
        }
        if (!mapped) {
          CaseFiles files = subject.files;
          if (!options.with_seg) files.seg.reset();
          write_cache_file(path, preprocess_case(files, options.preprocess));
          mapped = open_cache_file(path);
          computed.fetch_add(1);
        }
        cohort.cases_[static_cast<size_t>(i)] = mapped;
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mu);
        errors.push_back(e.what());
      }
      const int64_t d = done.fetch_add(1) + 1;
      if (progress) {
        std::lock_guard<std::mutex> lock(mu);
        progress(d, n, subject.files.id, cached);
      }
    }
  };
  int threads = options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = static_cast<int>(std::min<int64_t>(threads, std::max<int64_t>(n, 1)));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  if (!errors.empty()) {
    std::string msg = std::to_string(errors.size()) + " subject(s) could not be preprocessed:";
    for (const auto& e : errors) msg += "\n  - " + e;
    throw Error(msg);
  }
  cohort.computed_ = computed.load();
  for (int64_t i = 0; i < n; ++i) {
    const auto& s = dataset.subjects[static_cast<size_t>(i)];
    cohort.ids_.push_back(s.files.id);
    cohort.labels_.push_back(s.label);
    const auto& h = cohort.cases_[static_cast<size_t>(i)]->header();
    const std::array<int64_t, 3> shape{h.shape[0], h.shape[1], h.shape[2]};
    if (i == 0) cohort.shape_ = shape;
    else check(shape == cohort.shape_, "cached subject " + s.files.id + " has a different preprocessed shape");
  }
  return cohort;
}

const std::string& PreprocessedCohort::id(int64_t i) const { return ids_.at(static_cast<size_t>(i)); }
int PreprocessedCohort::label(int64_t i) const { return labels_.at(static_cast<size_t>(i)); }
std::vector<int> PreprocessedCohort::labels() const { return labels_; }
bool PreprocessedCohort::has_seg(int64_t i) const { return cases_.at(static_cast<size_t>(i))->header().has_seg != 0; }

Affine PreprocessedCohort::affine(int64_t i) const { return cases_.at(static_cast<size_t>(i))->affine(); }

torch::Tensor PreprocessedCohort::image(int64_t i) const { return mapped_image(*cases_.at(static_cast<size_t>(i))); }

torch::Tensor PreprocessedCohort::seg(int64_t i) const {
  const auto& c = *cases_.at(static_cast<size_t>(i));
  if (!c.header().has_seg) return {};
  const auto& h = c.header();
  return torch::from_blob(const_cast<unsigned char*>(c.payload()) + 4 * c.voxels() * sizeof(float),
                          {1, h.shape[0], h.shape[1], h.shape[2]}, torch::TensorOptions().dtype(torch::kUInt8));
}

torch::Tensor PreprocessedCohort::images(const std::vector<int64_t>& indices) const {
  auto out = torch::empty({static_cast<int64_t>(indices.size()), 4, shape_[0], shape_[1], shape_[2]});
  for (size_t b = 0; b < indices.size(); ++b) out[static_cast<int64_t>(b)].copy_(image(indices[b]));
  return out;
}

}  // namespace mprotonet
