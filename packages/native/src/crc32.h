#ifndef DIODESYNC_NATIVE_CRC32_H_
#define DIODESYNC_NATIVE_CRC32_H_

#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace diodesync {

// IEEE CRC-32 (the wire's, zlib's) of `length` bytes: folded with PCLMULQDQ where the CPU has it,
// else slice-by-8 tables. See crc32.cc.
uint32_t Crc32(const uint8_t* data, size_t length);

// Adds crc32(bytes, start, end) and crc32Path() ("pclmul" or "table") to exports.
void InitCrc32(Napi::Env env, Napi::Object exports);

}  // namespace diodesync

#endif  // DIODESYNC_NATIVE_CRC32_H_
