// SPDX-License-Identifier: MIT
// Minimal zip archive reader and writer for the PyTorch file format (`torch.save`, PyTorch >= 1.6).
// Only what that format needs: uncompressed ("stored") records, zip64 sizes/offsets on reading,
// CRC-32 verification (also of deflated records, which LibTorch's module archives contain).
// Written in-house rather than through caffe2's PyTorchStreamReader so every
// offset and size taken from an untrusted file is bounds-checked here, before any allocation,
// and a record is never read past the end of the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>
#include <unordered_map>
#include <vector>

namespace mprotonet::zip {

/// One record of the central directory.
struct Entry {
  std::string name;
  uint16_t flags = 0;
  uint16_t method = 0;           ///< 0 = stored; anything else is refused on reading
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t size = 0;             ///< uncompressed size in bytes
  uint64_t local_header_offset = 0;
};

/// Read-only view of a zip file. Errors (class mprotonet::Error) describe the problem without
/// the file name; callers add the file as context.
class Reader {
 public:
  /// Opens the file and parses the end-of-central-directory record and the central directory.
  explicit Reader(const std::filesystem::path& path);

  const std::vector<Entry>& entries() const { return entries_; }
  /// The entry with exactly this name, or nullptr.
  const Entry* find(const std::string& name) const;
  uint64_t file_size() const { return file_size_; }

  /// Reads a whole record into a string; refuses records larger than max_size bytes.
  std::string read(const Entry& entry, uint64_t max_size);
  /// Reads the first n bytes of a record into dst (n <= entry.size) and verifies the CRC-32 of
  /// the whole record.
  void read_into(const Entry& entry, void* dst, uint64_t n);
  /// Reads the record in chunks (inflating a deflated one, as LibTorch's own module archives
  /// have) and verifies its size and CRC-32; Error naming the record.
  void verify(const Entry& entry);

 private:
  uint64_t data_offset(const Entry& entry);
  uint64_t record_start(const Entry& entry, uint64_t stored_bytes);
  void read_at(uint64_t offset, void* dst, uint64_t n);

  std::ifstream in_;
  uint64_t file_size_ = 0;
  std::vector<Entry> entries_;
  std::unordered_map<std::string, size_t> index_;
};

/// Verifies the CRC-32 of every record of the zip file at path (the integrity check of model
/// files and checkpoints, whose LibTorch reader does not check it). Error naming the file and
/// the first damaged record; the cost is one read of the file.
void verify_archive(const std::filesystem::path& path);

/// Writes a zip archive of stored records (64-byte aligned data, as PyTorch does) to a stream.
/// Archives are limited to 4 GiB (no zip64 on writing).
class Writer {
 public:
  explicit Writer(std::ostream& out) : out_(out) {}
  void add(const std::string& name, const void* data, uint64_t size);
  /// Writes the central directory and end record; the stream is complete afterwards.
  void finish();

 private:
  void write_bytes(const void* data, uint64_t n);
  std::ostream& out_;
  uint64_t pos_ = 0;
  std::vector<Entry> written_;
  bool finished_ = false;
};

}  // namespace mprotonet::zip
