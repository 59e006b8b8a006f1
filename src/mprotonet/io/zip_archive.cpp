// SPDX-License-Identifier: MIT
// Zip reader/writer for PyTorch files. Layout per PKWARE APPNOTE 6.3 (sections 4.3.7 local
// header, 4.3.12 central directory, 4.3.14-4.3.16 end records, 4.5.3 zip64 extra field).
#include "mprotonet/io/zip_archive.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

#include "mprotonet/core/error.h"

namespace mprotonet::zip {

namespace {

constexpr uint32_t kLocalHeaderSig = 0x04034b50;
constexpr uint32_t kCentralHeaderSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr size_t kEndSize = 22;
constexpr size_t kZip64EndSize = 56;
constexpr size_t kZip64LocatorSize = 20;
constexpr size_t kCentralHeaderSize = 46;
constexpr size_t kLocalHeaderSize = 30;
constexpr size_t kMaxComment = 0xFFFF;
/// Bounds on what an untrusted directory may make us allocate.
constexpr uint64_t kMaxCentralDirectoryBytes = 64ull << 20;
constexpr uint64_t kMaxEntries = 1u << 20;
/// PyTorch aligns record data to 64 bytes (caffe2::serialize::detail::kFieldAlignment).
constexpr uint64_t kAlignment = 64;
/// Extra-field id PyTorch uses for its alignment padding ("FB").
constexpr uint16_t kPaddingExtraId = 0x4246;

uint16_t le16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t le64(const unsigned char* p) {
  return static_cast<uint64_t>(le32(p)) | (static_cast<uint64_t>(le32(p + 4)) << 32);
}

/// a + b <= limit without overflow.
bool fits(uint64_t a, uint64_t b, uint64_t limit) { return a <= limit && b <= limit - a; }

uint32_t crc_update(uint32_t crc, const void* data, uint64_t n) {
  const auto* p = static_cast<const Bytef*>(data);
  while (n > 0) {
    const uInt chunk = static_cast<uInt>(std::min<uint64_t>(n, 1u << 30));
    crc = static_cast<uint32_t>(::crc32(crc, p, chunk));
    p += chunk;
    n -= chunk;
  }
  return crc;
}

std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s.substr(0, 200)) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (s.size() > 200) out += "...";
  return out;
}

}  // namespace

Reader::Reader(const std::filesystem::path& path) {
  in_.open(path, std::ios::binary);
  if (!in_) {
    std::error_code ec;
    throw Error(std::string("cannot open file (") +
                (std::filesystem::exists(path, ec) ? "permission denied or not a regular file"
                                                   : "no such file") + ")");
  }
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error("is a directory, expected a file");
  in_.seekg(0, std::ios::end);
  const auto end = in_.tellg();
  if (end < 0) throw Error("cannot determine the file size");
  file_size_ = static_cast<uint64_t>(end);
  if (file_size_ < kEndSize) {
    throw Error("not a zip archive (only " + std::to_string(file_size_) +
                " bytes; a PyTorch file written by torch.save is a zip archive)");
  }

  // End-of-central-directory record: the last signature whose comment reaches the file's end.
  const uint64_t tail_size = std::min<uint64_t>(file_size_, kEndSize + kMaxComment);
  std::vector<unsigned char> tail(tail_size);
  read_at(file_size_ - tail_size, tail.data(), tail_size);
  int64_t found = -1;
  for (int64_t i = static_cast<int64_t>(tail_size - kEndSize); i >= 0; --i) {
    const unsigned char* p = tail.data() + i;
    if (le32(p) == kEndSig && static_cast<uint64_t>(i) + kEndSize + le16(p + 20) == tail_size) {
      found = i;
      break;
    }
  }
  if (found < 0) {
    const bool zip_magic = tail_size >= 4 && [&] {
      unsigned char head[4];
      read_at(0, head, 4);
      return le32(head) == kLocalHeaderSig;
    }();
    throw Error(zip_magic ? "truncated zip archive (no end-of-central-directory record)"
                          : "not a zip archive (no end-of-central-directory record; a PyTorch "
                            "file written by torch.save is a zip archive)");
  }
  const uint64_t end_pos = file_size_ - tail_size + static_cast<uint64_t>(found);
  const unsigned char* e = tail.data() + found;
  if (le16(e + 4) != 0 || le16(e + 6) != 0) throw Error("multi-disk zip archives are not supported");
  uint64_t n_entries = le16(e + 10);
  uint64_t cd_size = le32(e + 12);
  uint64_t cd_offset = le32(e + 16);

  // Zip64: a locator just before the end record points to the zip64 end record.
  if (end_pos >= kZip64LocatorSize) {
    unsigned char loc[kZip64LocatorSize];
    read_at(end_pos - kZip64LocatorSize, loc, kZip64LocatorSize);
    if (le32(loc) == kZip64LocatorSig) {
      const uint64_t z_off = le64(loc + 8);
      if (!fits(z_off, kZip64EndSize, end_pos)) throw Error("zip64 end record lies outside the file");
      unsigned char z[kZip64EndSize];
      read_at(z_off, z, kZip64EndSize);
      if (le32(z) != kZip64EndSig) throw Error("zip64 end record has a bad signature");
      n_entries = le64(z + 32);
      cd_size = le64(z + 40);
      cd_offset = le64(z + 48);
    }
  }
  if (!fits(cd_offset, cd_size, end_pos)) {
    throw Error("central directory (offset " + std::to_string(cd_offset) + ", " +
                std::to_string(cd_size) + " bytes) lies outside the file (truncated archive?)");
  }
  if (cd_size > kMaxCentralDirectoryBytes) throw Error("central directory larger than 64 MiB");
  if (n_entries > kMaxEntries) throw Error("zip archive claims " + std::to_string(n_entries) + " entries");
  if (n_entries * kCentralHeaderSize > cd_size) {
    throw Error("central directory of " + std::to_string(cd_size) + " bytes cannot hold " +
                std::to_string(n_entries) + " entries");
  }

  std::vector<unsigned char> cd(cd_size);
  read_at(cd_offset, cd.data(), cd_size);
  uint64_t pos = 0;
  entries_.reserve(n_entries);
  for (uint64_t k = 0; k < n_entries; ++k) {
    if (!fits(pos, kCentralHeaderSize, cd_size) || le32(cd.data() + pos) != kCentralHeaderSig) {
      throw Error("central directory entry " + std::to_string(k) + " is malformed");
    }
    const unsigned char* h = cd.data() + pos;
    Entry entry;
    entry.flags = le16(h + 8);
    entry.method = le16(h + 10);
    entry.crc32 = le32(h + 16);
    entry.compressed_size = le32(h + 20);
    entry.size = le32(h + 24);
    const uint64_t name_len = le16(h + 28), extra_len = le16(h + 30), comment_len = le16(h + 32);
    entry.local_header_offset = le32(h + 42);
    const uint64_t var_len = name_len + extra_len + comment_len;
    if (!fits(pos + kCentralHeaderSize, var_len, cd_size)) {
      throw Error("central directory entry " + std::to_string(k) + " runs past the directory");
    }
    entry.name.assign(reinterpret_cast<const char*>(h + kCentralHeaderSize), name_len);
    // Zip64 extra field: 64-bit values for the 32-bit fields that hold 0xFFFFFFFF, in order.
    const unsigned char* x = h + kCentralHeaderSize + name_len;
    uint64_t xp = 0;
    while (xp + 4 <= extra_len) {
      const uint16_t id = le16(x + xp), len = le16(x + xp + 2);
      if (xp + 4 + len > extra_len) throw Error("zip extra field of '" + printable(entry.name) + "' is malformed");
      if (id == 0x0001) {
        uint64_t q = 0;
        auto take = [&](uint64_t& field) {
          if (field != 0xFFFFFFFFu) return;
          if (q + 8 > len) throw Error("zip64 extra field of '" + printable(entry.name) + "' is too short");
          field = le64(x + xp + 4 + q);
          q += 8;
        };
        take(entry.size);
        take(entry.compressed_size);
        take(entry.local_header_offset);
      }
      xp += 4 + len;
    }
    if (index_.count(entry.name)) throw Error("zip archive holds two records named '" + printable(entry.name) + "'");
    index_.emplace(entry.name, entries_.size());
    entries_.push_back(std::move(entry));
    pos += kCentralHeaderSize + var_len;
  }
}

const Entry* Reader::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

void Reader::read_at(uint64_t offset, void* dst, uint64_t n) {
  if (!fits(offset, n, file_size_)) throw Error("read past the end of the file (truncated?)");
  in_.clear();
  in_.seekg(static_cast<std::streamoff>(offset));
  in_.read(static_cast<char*>(dst), static_cast<std::streamsize>(n));
  if (!in_ || static_cast<uint64_t>(in_.gcount()) != n) throw Error("read error at byte " + std::to_string(offset));
}

uint64_t Reader::data_offset(const Entry& entry) {
  const std::string what = "record '" + printable(entry.name) + "'";
  if (entry.method != 0) {
    throw Error(what + " is compressed (method " + std::to_string(entry.method) +
                "); PyTorch files store records uncompressed");
  }
  if (entry.compressed_size != entry.size) throw Error(what + " has inconsistent sizes");
  return record_start(entry, entry.size);
}

uint64_t Reader::record_start(const Entry& entry, uint64_t stored_bytes) {
  const std::string what = "record '" + printable(entry.name) + "'";
  if (entry.flags & 1u) throw Error(what + " is encrypted");
  if (!fits(entry.local_header_offset, kLocalHeaderSize, file_size_)) {
    throw Error(what + ": local header lies outside the file (truncated?)");
  }
  unsigned char h[kLocalHeaderSize];
  read_at(entry.local_header_offset, h, kLocalHeaderSize);
  if (le32(h) != kLocalHeaderSig) throw Error(what + ": bad local header signature");
  const uint64_t name_len = le16(h + 26), extra_len = le16(h + 28);
  if (name_len != entry.name.size()) throw Error(what + ": local header disagrees with the central directory");
  const uint64_t start = entry.local_header_offset + kLocalHeaderSize + name_len + extra_len;
  if (!fits(start, stored_bytes, file_size_)) {
    throw Error(what + " (" + std::to_string(stored_bytes) + " bytes at byte " + std::to_string(start) +
                ") runs past the end of the file (truncated?)");
  }
  return start;
}

void Reader::verify(const Entry& entry) {
  if (entry.method == 0) {
    read_into(entry, nullptr, 0);
    return;
  }
  // LibTorch's writer deflates some records of a module archive (code/*.py): inflate in chunks,
  // never holding more than a chunk, and never past the declared size.
  const std::string what = "record '" + printable(entry.name) + "'";
  if (entry.method != 8)
    throw Error(what + " uses compression method " + std::to_string(entry.method) + ", which cannot be checked");
  const uint64_t start = record_start(entry, entry.compressed_size);
  z_stream z{};
  if (inflateInit2(&z, -15) != Z_OK) throw Error("zlib: cannot start inflating " + what);
  std::vector<unsigned char> in(1u << 20), out(1u << 20);
  uint64_t read = 0, produced = 0;
  uint32_t crc = 0;
  int rc = Z_OK;
  try {
    while (rc != Z_STREAM_END) {
      if (z.avail_in == 0) {
        if (read == entry.compressed_size) break;
        const uint64_t chunk = std::min<uint64_t>(entry.compressed_size - read, in.size());
        read_at(start + read, in.data(), chunk);
        read += chunk;
        z.next_in = in.data();
        z.avail_in = static_cast<uInt>(chunk);
      }
      z.next_out = out.data();
      z.avail_out = static_cast<uInt>(out.size());
      rc = inflate(&z, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END) throw Error(what + " is not valid deflate data (corrupt file)");
      const uint64_t n = out.size() - z.avail_out;
      produced += n;
      if (produced > entry.size) throw Error(what + " inflates to more than its declared " + std::to_string(entry.size) + " bytes");
      crc = crc_update(crc, out.data(), n);
    }
  } catch (...) {
    inflateEnd(&z);
    throw;
  }
  inflateEnd(&z);
  if (rc != Z_STREAM_END || produced != entry.size)
    throw Error(what + " is truncated (it inflates to " + std::to_string(produced) + " of its " + std::to_string(entry.size) +
                " bytes)");
  if (crc != entry.crc32) throw Error(what + " fails its CRC-32 check (corrupt file)");
}

std::string Reader::read(const Entry& entry, uint64_t max_size) {
  if (entry.size > max_size) {
    throw Error("record '" + printable(entry.name) + "' is " + std::to_string(entry.size) +
                " bytes, more than the " + std::to_string(max_size) + " allowed");
  }
  std::string out(entry.size, '\0');
  read_into(entry, out.data(), entry.size);
  return out;
}

void Reader::read_into(const Entry& entry, void* dst, uint64_t n) {
  if (n > entry.size) throw Error("record '" + printable(entry.name) + "' is shorter than requested");
  const uint64_t start = data_offset(entry);
  if (n > 0) read_at(start, dst, n);
  uint32_t crc = crc_update(0, dst, n);
  std::vector<unsigned char> buf;
  for (uint64_t done = n; done < entry.size;) {
    const uint64_t chunk = std::min<uint64_t>(entry.size - done, 1u << 20);
    buf.resize(chunk);
    read_at(start + done, buf.data(), chunk);
    crc = crc_update(crc, buf.data(), chunk);
    done += chunk;
  }
  if (crc != entry.crc32) throw Error("record '" + printable(entry.name) + "' fails its CRC-32 check (corrupt file)");
}

void verify_archive(const std::filesystem::path& path) {
  try {
    Reader reader(path);
    for (const Entry& e : reader.entries()) reader.verify(e);
  } catch (Error& e) {
    e.add_context(path.string());
    throw;
  }
}

// ------------------------------------------------------------------------------------------
namespace {
void put16(std::string& s, uint16_t v) {
  s += static_cast<char>(v & 0xFF);
  s += static_cast<char>(v >> 8);
}
void put32(std::string& s, uint32_t v) {
  put16(s, static_cast<uint16_t>(v & 0xFFFF));
  put16(s, static_cast<uint16_t>(v >> 16));
}
constexpr uint64_t kMax32 = std::numeric_limits<uint32_t>::max();
constexpr uint16_t kVersionNeeded = 20;  // 2.0: stored records, no zip64
constexpr uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01, fixed for reproducible files
}  // namespace

void Writer::write_bytes(const void* data, uint64_t n) {
  out_.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
  if (!out_) throw Error("write failed (disk full?)");
  pos_ += n;
}

void Writer::add(const std::string& name, const void* data, uint64_t size) {
  check(!finished_, "zip writer: add after finish");
  check(name.size() <= 0xFFFF, "zip record name too long");
  const uint64_t unpadded = pos_ + kLocalHeaderSize + name.size() + 4;
  const uint64_t pad = (kAlignment - unpadded % kAlignment) % kAlignment;
  if (!fits(unpadded + pad, size, kMax32)) throw Error("archive would exceed 4 GiB (zip64 writing is not supported)");
  Entry e;
  e.name = name;
  e.crc32 = crc_update(0, data, size);
  e.size = e.compressed_size = size;
  e.local_header_offset = pos_;
  std::string h;
  put32(h, kLocalHeaderSig);
  put16(h, kVersionNeeded);
  put16(h, 0);  // flags
  put16(h, 0);  // stored
  put16(h, 0);  // time
  put16(h, kDosDate);
  put32(h, e.crc32);
  put32(h, static_cast<uint32_t>(size));
  put32(h, static_cast<uint32_t>(size));
  put16(h, static_cast<uint16_t>(name.size()));
  put16(h, static_cast<uint16_t>(4 + pad));
  h += name;
  put16(h, kPaddingExtraId);
  put16(h, static_cast<uint16_t>(pad));
  h.append(pad, 'Z');
  write_bytes(h.data(), h.size());
  if (size > 0) write_bytes(data, size);
  written_.push_back(std::move(e));
}

void Writer::finish() {
  check(!finished_, "zip writer: finish called twice");
  check(written_.size() <= 0xFFFF, "too many zip records (zip64 writing is not supported)");
  const uint64_t cd_offset = pos_;
  std::string cd;
  for (const Entry& e : written_) {
    put32(cd, kCentralHeaderSig);
    put16(cd, kVersionNeeded);  // made by (MS-DOS, 2.0)
    put16(cd, kVersionNeeded);
    put16(cd, 0);
    put16(cd, 0);
    put16(cd, 0);
    put16(cd, kDosDate);
    put32(cd, e.crc32);
    put32(cd, static_cast<uint32_t>(e.size));
    put32(cd, static_cast<uint32_t>(e.size));
    put16(cd, static_cast<uint16_t>(e.name.size()));
    put16(cd, 0);  // extra
    put16(cd, 0);  // comment
    put16(cd, 0);  // disk
    put16(cd, 0);  // internal attributes
    put32(cd, 0);  // external attributes
    put32(cd, static_cast<uint32_t>(e.local_header_offset));
    cd += e.name;
  }
  if (!fits(cd_offset, cd.size() + kEndSize, kMax32)) throw Error("archive would exceed 4 GiB");
  const uint32_t dir_size = static_cast<uint32_t>(cd.size());
  put32(cd, kEndSig);
  put16(cd, 0);  // this disk
  put16(cd, 0);  // disk with the directory
  put16(cd, static_cast<uint16_t>(written_.size()));
  put16(cd, static_cast<uint16_t>(written_.size()));
  put32(cd, dir_size);
  put32(cd, static_cast<uint32_t>(cd_offset));
  put16(cd, 0);  // comment length
  write_bytes(cd.data(), cd.size());
  out_.flush();
  if (!out_) throw Error("write failed (disk full?)");
  finished_ = true;
}

}  // namespace mprotonet::zip
