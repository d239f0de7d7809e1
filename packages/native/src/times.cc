// setFileTimes: utimensat(2) with exact nanoseconds, which fs.utimes cannot
// give (it takes a double of seconds, and libuv truncates it to microseconds).
#include "times.h"

#include <fcntl.h>     // AT_FDCWD
#include <sys/stat.h>  // utimensat
#include <time.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

namespace diodesync {
namespace {

constexpr uint64_t kNsPerSec = 1000000000;

// A BigInt of nanoseconds since the epoch -> timespec. Floors, so that
// tv_nsec stays in [0, 1e9) before 1970 too (-1.5 s is {-2, 500000000}).
// Divides 128 bits in 32-bit limbs, so that any 64-bit tv_sec is reachable,
// not only the years 1677..2262 an int64 of nanoseconds can hold.
bool ToTimespec(Napi::Env env, Napi::Value value, const char* name,
                struct timespec* out) {
  if (!value.IsBigInt()) {
    Napi::TypeError::New(env, std::string(name) + " must be a bigint")
        .ThrowAsJavaScriptException();
    return false;
  }
  Napi::BigInt big = value.As<Napi::BigInt>();
  int negative = 0;
  uint64_t words[2] = {0, 0};
  size_t count = 2;
  if (big.WordCount() > 2) {
    Napi::RangeError::New(env, std::string(name) + " is out of range")
        .ThrowAsJavaScriptException();
    return false;
  }
  big.ToWords(&negative, &count, words);

  // |ns| / 1e9, most significant limb first; the remainder stays < 2^30.
  uint64_t limbs[4] = {words[1] >> 32, words[1] & 0xffffffffu,
                       words[0] >> 32, words[0] & 0xffffffffu};
  uint64_t rem = 0;
  for (uint64_t& limb : limbs) {
    uint64_t cur = (rem << 32) | limb;
    limb = cur / kNsPerSec;
    rem = cur % kNsPerSec;
  }
  uint64_t q = (limbs[2] << 32) | limbs[3];
  // Largest |seconds| time_t can hold on this side of zero (the negative
  // side reaches one further; its floor adds one when there is a remainder).
  const uint64_t max_pos =
      static_cast<uint64_t>(std::numeric_limits<time_t>::max());
  const uint64_t max_neg = max_pos + 1;
  bool fits = limbs[0] == 0 && limbs[1] == 0 &&
              (negative ? q + (rem != 0 ? 1 : 0) <= max_neg : q <= max_pos);
  if (!fits) {
    Napi::RangeError::New(env, std::string(name) + " is out of range")
        .ThrowAsJavaScriptException();
    return false;
  }
  if (!negative) {
    out->tv_sec = static_cast<time_t>(q);
    out->tv_nsec = static_cast<long>(rem);
  } else if (rem == 0) {
    out->tv_sec = static_cast<time_t>(-static_cast<int64_t>(q - 1) - 1);
    out->tv_nsec = 0;
  } else {
    out->tv_sec = static_cast<time_t>(-static_cast<int64_t>(q) - 1);
    out->tv_nsec = static_cast<long>(kNsPerSec - rem);
  }
  return true;
}

// setFileTimes(path: string | Buffer, atimeNs: bigint, mtimeNs: bigint)
// -> 0, or the errno of utimensat (the loader turns it into a Node-style error).
Napi::Value SetFileTimes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (info.Length() >= 1 && info[0].IsBuffer()) {
    auto buf = info[0].As<Napi::Buffer<char>>();
    path.assign(buf.Data(), buf.Length());
  } else if (info.Length() >= 1 && info[0].IsString()) {
    path = info[0].As<Napi::String>().Utf8Value();
  } else {
    Napi::TypeError::New(env, "path must be a string or a Buffer")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (path.find('\0') != std::string::npos) {
    Napi::TypeError::New(env, "path must not contain null bytes")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  struct timespec times[2];
  if (!ToTimespec(env, info[1], "atimeNs", &times[0]) ||
      !ToTimespec(env, info[2], "mtimeNs", &times[1])) {
    return env.Undefined();
  }
  int err = utimensat(AT_FDCWD, path.c_str(), times, 0) == 0 ? 0 : errno;
  return Napi::Number::New(env, err);
}

}  // namespace

void InitTimes(Napi::Env env, Napi::Object exports) {
  exports.Set("setFileTimes", Napi::Function::New(env, SetFileTimes, "setFileTimes"));
}

}  // namespace diodesync
