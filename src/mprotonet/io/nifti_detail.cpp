// SPDX-License-Identifier: MIT
// The datatype table and small helpers shared by NIfTI reading and writing (see nifti_detail.h).
#include "mprotonet/io/nifti_detail.h"

#include <nifti2_io.h>

#include <cstdio>
#include <mutex>
#include <sstream>

#include "mprotonet/core/error.h"

namespace mprotonet::nifti_detail {

namespace fs = std::filesystem;

// ---- datatypes -------------------------------------------------------------------------------

// The datatypes the reader accepts (all real scalar types of NIfTI-1 except float128).
constexpr DatatypeInfo kDatatypes[] = {
    {NIFTI_TYPE_UINT8, DataType::kUInt8, 1},     {NIFTI_TYPE_INT8, DataType::kInt8, 1},
    {NIFTI_TYPE_INT16, DataType::kInt16, 2},     {NIFTI_TYPE_UINT16, DataType::kUInt16, 2},
    {NIFTI_TYPE_INT32, DataType::kInt32, 4},     {NIFTI_TYPE_UINT32, DataType::kUInt32, 4},
    {NIFTI_TYPE_INT64, DataType::kInt64, 8},     {NIFTI_TYPE_UINT64, DataType::kUInt64, 8},
    {NIFTI_TYPE_FLOAT32, DataType::kFloat32, 4}, {NIFTI_TYPE_FLOAT64, DataType::kFloat64, 8},
};

const DatatypeInfo* find_datatype(int code) {
  for (const auto& d : kDatatypes)
    if (d.code == code) return &d;
  return nullptr;
}

const DatatypeInfo& datatype_info(DataType t) {
  for (const auto& d : kDatatypes)
    if (d.type == t) return d;
  throw Error("internal error: DataType without a NIfTI code");
}

// Name of any NIfTI datatype code, for messages ("complex64", "rgb24", ...).
std::string datatype_code_name(int code) {
  if (const DatatypeInfo* d = find_datatype(code)) return to_string(d->type);
  switch (code) {
    case NIFTI_TYPE_COMPLEX64: return "complex64";
    case NIFTI_TYPE_COMPLEX128: return "complex128";
    case NIFTI_TYPE_COMPLEX256: return "complex256";
    case NIFTI_TYPE_RGB24: return "rgb24";
    case NIFTI_TYPE_RGBA32: return "rgba32";
    case NIFTI_TYPE_FLOAT128: return "float128";
    case DT_BINARY: return "binary (1 bit)";
    default: return "unknown";
  }
}

std::string supported_datatypes() {
  std::string s;
  for (const auto& d : kDatatypes) s += (s.empty() ? "" : ", ") + to_string(d.type);
  return s;
}

// ---- small helpers ---------------------------------------------------------------------------

void fail(const fs::path& path, const std::string& reason) { throw Error(path.string() + ": " + reason); }

std::string fmt(double v) {
  std::ostringstream ss;
  ss.precision(9);
  ss << v;
  return ss.str();
}

void quiet_nifticlib() {
  static std::once_flag once;
  std::call_once(once, [] { nifti_set_debug_level(0); });
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace mprotonet::nifti_detail
