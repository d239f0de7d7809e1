// encodeParity: the parity shards of one FEC block, computed on the calling thread.
//
// @ronomon/reed-solomon (the codec the protocol uses, and the receiver's decoder) only encodes
// on the libuv thread pool: each block costs a hand-off to a pool thread and back, about 30 us
// of CPU, far more than the XORs of a block of 20 chunks of 1,424 bytes (about 6 us). This is
// the same encoding, byte for byte, for the case the sender has (every data shard present, every
// parity shard wanted), without the hand-off (and 32 bytes a step with AVX2; the start lines say
// `parity=avx2|words`): the Cauchy bit matrix comes from that codec's own
// context (its create(k, m)), and the loop is its dot(): each parity packet is the XOR of the
// source packets its bit-matrix row selects, packets being shardSize / w bytes (halved while the
// working set exceeds 1 MiB, as the codec does, since that changes the result).
#include "parity.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define DIODESYNC_PARITY_X86 1
#endif

namespace diodesync {
namespace {

constexpr uint32_t kMaxK = 24;
constexpr uint32_t kMaxM = 6;
constexpr uint32_t kMaxW = 8;

uint32_t PacketSize(uint32_t w, uint32_t k, uint32_t shardSize) {
  uint32_t packet = shardSize / w;
  while (packet > 64 && packet % 2 == 0 && (1 + k * w) * packet > 1048576) packet /= 2;
  return packet;
}

// `out` = the XOR of the `n` (at least 1) packets `in`, `length` bytes each: each output word is
// built in a register from every source and stored once (XOR-ing each source into `out` in turn
// loaded and stored `out` once per source). Eight bytes a step, on any CPU.
void XorPackets(const uint8_t* const* in, uint32_t n, uint8_t* out, uint32_t length) {
  uint32_t i = 0;
  for (; i + 8 <= length; i += 8) {
    uint64_t acc;
    std::memcpy(&acc, in[0] + i, 8);
    for (uint32_t s = 1; s < n; s++) {
      uint64_t word;
      std::memcpy(&word, in[s] + i, 8);
      acc ^= word;
    }
    std::memcpy(out + i, &acc, 8);
  }
  for (; i < length; i++) {
    uint8_t acc = in[0][i];
    for (uint32_t s = 1; s < n; s++) acc ^= in[s][i];
    out[i] = acc;
  }
}

#ifdef DIODESYNC_PARITY_X86
// Bytes [at, at + 32) of `out`, from every source, in one AVX2 register.
__attribute__((target("avx2"))) inline void Xor32(const uint8_t* const* in, uint32_t n, uint8_t* out, uint32_t at) {
  __m256i acc = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in[0] + at));
  for (uint32_t s = 1; s < n; s++) acc = _mm256_xor_si256(acc, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in[s] + at)));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + at), acc);
}

// The same, 32 bytes a step; the last step ends at the packet's end, over bytes already done (the
// same values again). A packet shorter than 32 bytes goes eight at a time.
__attribute__((target("avx2"))) void XorPacketsAvx2(const uint8_t* const* in, uint32_t n, uint8_t* out, uint32_t length) {
  if (length < 32) return XorPackets(in, n, out, length);
  uint32_t at = 0;
  for (; at + 32 <= length; at += 32) Xor32(in, n, out, at);
  if (at < length) Xor32(in, n, out, length - 32);
}

bool hasAvx2 = false;
#endif

// XorPackets, as fast as this CPU allows.
void XorAll(const uint8_t* const* in, uint32_t n, uint8_t* out, uint32_t length) {
#ifdef DIODESYNC_PARITY_X86
  if (hasAvx2) return XorPacketsAvx2(in, n, out, length);
#endif
  XorPackets(in, n, out, length);
}

// The codec's dot() for one parity shard from all k data shards: each parity packet is the XOR of
// the source packets its bit-matrix row selects (a row that selects none leaves its packet as it was).
void Dot(uint32_t w, uint32_t k, const uint8_t* const* data, uint32_t shardSize, const uint8_t* row, uint8_t* target) {
  const uint32_t packet = PacketSize(w, k, shardSize);
  const uint8_t* sources[kMaxK * kMaxW];
  for (uint32_t offset = 0; offset < shardSize; offset += w * packet) {
    for (uint32_t a = 0; a < w; a++) {
      const uint8_t* selects = row + a * k * w;
      uint32_t n = 0;
      for (uint32_t b = 0; b < k; b++) {
        for (uint32_t c = 0; c < w; c++) {
          if (selects[b * w + c]) sources[n++] = data[b] + offset + c * packet;
        }
      }
      if (n > 0) XorAll(sources, n, target + offset + a * packet, packet);
    }
  }
}

template <typename E>
Napi::Value Fail(Napi::Env env, const char* message) {
  E::New(env, message).ThrowAsJavaScriptException();
  return env.Undefined();
}

// encodeParity(context: Buffer, data: Uint8Array (k shards), parity: Uint8Array (m shards), shardSize)
Napi::Value EncodeParity(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 4 || !info[0].IsTypedArray() || !info[1].IsTypedArray() || !info[2].IsTypedArray() || !info[3].IsNumber()) {
    return Fail<Napi::TypeError>(env, "encodeParity(context, data, parity, shardSize)");
  }
  auto context = info[0].As<Napi::Uint8Array>();
  auto data = info[1].As<Napi::Uint8Array>();
  auto parity = info[2].As<Napi::Uint8Array>();
  const int64_t size = info[3].As<Napi::Number>().Int64Value();
  if (context.ByteLength() < 3) return Fail<Napi::RangeError>(env, "bad context");
  const uint32_t w = context.Data()[0];
  const uint32_t k = context.Data()[1];
  const uint32_t m = context.Data()[2];
  if ((w != 2 && w != 4 && w != 8) || k < 1 || k > kMaxK || m < 1 || m > kMaxM || context.ByteLength() != 3 + k * w * m * w) {
    return Fail<Napi::RangeError>(env, "bad context");
  }
  if (size <= 0 || size % 8 != 0 || size % w != 0) return Fail<Napi::RangeError>(env, "bad shard size");
  const uint32_t shardSize = static_cast<uint32_t>(size);
  if (data.ByteLength() != static_cast<size_t>(k) * shardSize || parity.ByteLength() != static_cast<size_t>(m) * shardSize) {
    return Fail<Napi::RangeError>(env, "data or parity does not match k, m and the shard size");
  }
  const uint8_t* shards[kMaxK];
  for (uint32_t i = 0; i < k; i++) shards[i] = data.Data() + i * shardSize;
  uint8_t* out = parity.Data();
  if (k == 1) {
    // The codec's replication case: every parity shard is a copy.
    for (uint32_t j = 0; j < m; j++) std::memcpy(out + j * shardSize, shards[0], shardSize);
    return env.Undefined();
  }
  if (m == 1) {
    // The codec's single-parity case: the XOR of the data shards.
    XorAll(shards, k, out, shardSize);
    return env.Undefined();
  }
  const uint8_t* bitmatrix = context.Data() + 3;
  for (uint32_t j = 0; j < m; j++) Dot(w, k, shards, shardSize, bitmatrix + k * w * w * j, out + j * shardSize);
  return env.Undefined();
}

}  // namespace

void InitParity(Napi::Env env, Napi::Object exports) {
  // Once per process: the addon is loaded again by every worker thread that uses it.
  static std::once_flag chosen;
  std::call_once(chosen, [] {
#ifdef DIODESYNC_PARITY_X86
    __builtin_cpu_init();
    // DIODESYNC_PARITY_WORDS=1: eight bytes a step, as on a CPU without AVX2 (tests).
    const char* wordsOnly = std::getenv("DIODESYNC_PARITY_WORDS");
    hasAvx2 = __builtin_cpu_supports("avx2") && !(wordsOnly && *wordsOnly == '1');
#endif
  });
#ifdef DIODESYNC_PARITY_X86
  const char* path = hasAvx2 ? "avx2" : "words";
#else
  const char* path = "words";
#endif
  exports.Set("encodeParity", Napi::Function::New(env, EncodeParity, "encodeParity"));
  exports.Set("parityPath", Napi::String::New(env, path));
}

}  // namespace diodesync
