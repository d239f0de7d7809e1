// IEEE CRC-32, the checksum every superframe carries twice (header and payload).
//
// Node's zlib.crc32 is the system zlib's on Debian: a table method at about 3 GB/s, 430 ns for
// the 1,424-byte payload of a full-size datagram, paid once per frame on each side. Folding with
// carry-less multiplication (PCLMULQDQ, "Fast CRC Computation for Generic Polynomials Using
// PCLMULQDQ", Intel 2009; the bit-reflected constants at its end, as Linux and Chromium's zlib use
// them) takes 64 bytes per step; the tail (under 16 bytes) and CPUs without the instruction use
// slice-by-8 tables.
#include "crc32.h"

#include <cstdlib>
#include <cstring>
#include <mutex>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define DIODESYNC_CRC_X86 1
#endif

namespace diodesync {
namespace {

uint32_t tables[8][256];

void BuildTables() {
  for (uint32_t n = 0; n < 256; n++) {
    uint32_t c = n;
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    tables[0][n] = c;
  }
  for (uint32_t n = 0; n < 256; n++) {
    for (int t = 1; t < 8; t++) tables[t][n] = tables[0][tables[t - 1][n] & 0xff] ^ (tables[t - 1][n] >> 8);
  }
}

// `crc` and the result are the running (inverted) value.
uint32_t Tables(uint32_t crc, const uint8_t* p, size_t n) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  // Eight bytes a step: the slicing reads them as two little-endian words.
  for (; n >= 8; n -= 8, p += 8) {
    uint32_t lo;
    uint32_t hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    lo ^= crc;
    crc = tables[7][lo & 0xff] ^ tables[6][(lo >> 8) & 0xff] ^ tables[5][(lo >> 16) & 0xff] ^ tables[4][lo >> 24] ^
          tables[3][hi & 0xff] ^ tables[2][(hi >> 8) & 0xff] ^ tables[1][(hi >> 16) & 0xff] ^ tables[0][hi >> 24];
  }
#endif
  for (; n > 0; n--, p++) crc = tables[0][(crc ^ *p) & 0xff] ^ (crc >> 8);
  return crc;
}

#ifdef DIODESYNC_CRC_X86
bool hasPclmul = false;

// `x` carried 16 bytes forward (by the constants in `k`), onto `next`.
__attribute__((target("pclmul,sse4.1"))) inline __m128i Fold16(__m128i x, __m128i k, __m128i next) {
  return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x11), _mm_clmulepi64_si128(x, k, 0x00)), next);
}

// `n` is at least 64 and a multiple of 16; `crc` and the result are the running (inverted) value.
__attribute__((target("pclmul,sse4.1"))) uint32_t Fold(uint32_t crc, const uint8_t* p, size_t n) {
  const __m128i k1k2 = _mm_set_epi64x(0x01c6e41596, 0x0154442bd4);
  const __m128i k3k4 = _mm_set_epi64x(0x00ccaa009e, 0x01751997d0);
  const __m128i k5 = _mm_set_epi64x(0, 0x0163cd6124);
  const __m128i poly = _mm_set_epi64x(0x01f7011641, 0x01db710641);
  const __m128i low32 = _mm_setr_epi32(~0, 0, ~0, 0);

  __m128i x1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  __m128i x2 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16));
  __m128i x3 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 32));
  __m128i x4 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 48));
  x1 = _mm_xor_si128(x1, _mm_cvtsi32_si128(static_cast<int>(crc)));
  p += 64;
  n -= 64;
  // Four lanes of 16 bytes, each folded 64 bytes ahead.
  for (; n >= 64; n -= 64, p += 64) {
    const __m128i y1 = _mm_clmulepi64_si128(x1, k1k2, 0x00);
    const __m128i y2 = _mm_clmulepi64_si128(x2, k1k2, 0x00);
    const __m128i y3 = _mm_clmulepi64_si128(x3, k1k2, 0x00);
    const __m128i y4 = _mm_clmulepi64_si128(x4, k1k2, 0x00);
    x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, k1k2, 0x11), y1), _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    x2 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x2, k1k2, 0x11), y2), _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16)));
    x3 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x3, k1k2, 0x11), y3), _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 32)));
    x4 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x4, k1k2, 0x11), y4), _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 48)));
  }
  // The four lanes into one, then 16 bytes at a time.
  x1 = Fold16(x1, k3k4, x2);
  x1 = Fold16(x1, k3k4, x3);
  x1 = Fold16(x1, k3k4, x4);
  for (; n >= 16; n -= 16, p += 16) x1 = Fold16(x1, k3k4, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  // 128 bits to 64, then Barrett reduction to 32.
  x2 = _mm_clmulepi64_si128(x1, k3k4, 0x10);
  x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), x2);
  x2 = _mm_srli_si128(x1, 4);
  x1 = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(x1, low32), k5, 0x00), x2);
  x2 = _mm_clmulepi64_si128(_mm_and_si128(x1, low32), poly, 0x10);
  x2 = _mm_clmulepi64_si128(_mm_and_si128(x2, low32), poly, 0x00);
  x1 = _mm_xor_si128(x1, x2);
  return static_cast<uint32_t>(_mm_extract_epi32(x1, 1));
}
#endif

// crc32(bytes, start, end), on plain N-API calls: through node-addon-api's checked wrappers the call
// cost more than the CRC of a full-size payload (about 95 ns against 75).
napi_value Crc32Js(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  int64_t start = -1;
  int64_t end = -1;
  if (argc < 3 || napi_get_typedarray_info(env, argv[0], &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != napi_uint8_array || napi_get_value_int64(env, argv[1], &start) != napi_ok ||
      napi_get_value_int64(env, argv[2], &end) != napi_ok) {
    napi_throw_type_error(env, nullptr, "crc32(bytes: Uint8Array, start: number, end: number)");
    return nullptr;
  }
  if (start < 0 || end < start || static_cast<uint64_t>(end) > length) {
    napi_throw_range_error(env, nullptr, "crc32: start and end must lie within the bytes, start <= end");
    return nullptr;
  }
  napi_value result;
  napi_create_uint32(env, Crc32(static_cast<const uint8_t*>(data) + start, static_cast<size_t>(end - start)), &result);
  return result;
}

}  // namespace

uint32_t Crc32(const uint8_t* p, size_t n) {
  uint32_t crc = 0xffffffffu;
#ifdef DIODESYNC_CRC_X86
  if (hasPclmul && n >= 64) {
    const size_t folded = n & ~static_cast<size_t>(15);
    crc = Fold(crc, p, folded);
    p += folded;
    n -= folded;
  }
#endif
  return ~Tables(crc, p, n);
}

void InitCrc32(Napi::Env env, Napi::Object exports) {
  // Once per process: the addon is loaded again by every worker thread that uses it.
  static std::once_flag built;
  std::call_once(built, [] {
    BuildTables();
#ifdef DIODESYNC_CRC_X86
    __builtin_cpu_init();
    // DIODESYNC_CRC_TABLES=1: the tables only, as on a CPU without the instruction (tests).
    const char* tablesOnly = std::getenv("DIODESYNC_CRC_TABLES");
    hasPclmul = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1") && !(tablesOnly && *tablesOnly == '1');
#endif
  });
#ifdef DIODESYNC_CRC_X86
  const char* path = hasPclmul ? "pclmul" : "table";
#else
  const char* path = "table";
#endif
  napi_value fn;
  napi_create_function(env, "crc32", NAPI_AUTO_LENGTH, Crc32Js, nullptr, &fn);
  exports.Set("crc32", fn);
  exports.Set("crc32Path", Napi::String::New(env, path));
}

}  // namespace diodesync
