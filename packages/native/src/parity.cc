// encodeParity: the parity shards of one FEC block, computed on the calling thread.
//
// @ronomon/reed-solomon (the codec the protocol uses, and the receiver's decoder) only encodes
// on the libuv thread pool: each block costs a hand-off to a pool thread and back, about 30 us
// of CPU, far more than the XORs of a block of 20 chunks of 1,424 bytes (about 6 us). This is
// the same encoding, byte for byte, for the case the sender has (every data shard present, every
// parity shard wanted), without the hand-off: the Cauchy bit matrix comes from that codec's own
// context (its create(k, m)), and the loop is its dot(): each parity packet is the XOR of the
// source packets its bit-matrix row selects, packets being shardSize / w bytes (halved while the
// working set exceeds 1 MiB, as the codec does, since that changes the result).
#include "parity.h"

#include <cstdint>
#include <cstring>

namespace diodesync {
namespace {

constexpr uint32_t kMaxK = 24;
constexpr uint32_t kMaxM = 6;

uint32_t PacketSize(uint32_t w, uint32_t k, uint32_t shardSize) {
  uint32_t packet = shardSize / w;
  while (packet > 64 && packet % 2 == 0 && (1 + k * w) * packet > 1048576) packet /= 2;
  return packet;
}

void Xor(const uint8_t* source, uint8_t* target, uint32_t length) {
  uint32_t i = 0;
  for (; i + 8 <= length; i += 8) {
    uint64_t a;
    uint64_t b;
    std::memcpy(&a, source + i, 8);
    std::memcpy(&b, target + i, 8);
    b ^= a;
    std::memcpy(target + i, &b, 8);
  }
  for (; i < length; i++) target[i] ^= source[i];
}

// The codec's dot() for one parity shard from all k data shards.
void Dot(uint32_t w, uint32_t k, const uint8_t* const* data, uint32_t shardSize, const uint8_t* row, uint8_t* target) {
  const uint32_t packet = PacketSize(w, k, shardSize);
  for (uint32_t offset = 0; offset < shardSize; offset += w * packet) {
    uint32_t column = 0;
    for (uint32_t a = 0; a < w; a++) {
      bool copied = false;
      uint8_t* out = target + offset + a * packet;
      for (uint32_t b = 0; b < k; b++) {
        for (uint32_t c = 0; c < w; c++, column++) {
          if (!row[column]) continue;
          const uint8_t* in = data[b] + offset + c * packet;
          if (copied) {
            Xor(in, out, packet);
          } else {
            std::memcpy(out, in, packet);
            copied = true;
          }
        }
      }
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
    std::memcpy(out, shards[0], shardSize);
    for (uint32_t i = 1; i < k; i++) Xor(shards[i], out, shardSize);
    return env.Undefined();
  }
  const uint8_t* bitmatrix = context.Data() + 3;
  for (uint32_t j = 0; j < m; j++) Dot(w, k, shards, shardSize, bitmatrix + k * w * w * j, out + j * shardSize);
  return env.Undefined();
}

}  // namespace

void InitParity(Napi::Env env, Napi::Object exports) {
  exports.Set("encodeParity", Napi::Function::New(env, EncodeParity, "encodeParity"));
}

}  // namespace diodesync
