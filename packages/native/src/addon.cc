// The diodesync native addon: one module, one Init per feature file.
#include <napi.h>

#include "capture.h"
#include "crc32.h"
#include "parity.h"
#include "times.h"
#include "udp.h"
#include "writeback.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  diodesync::InitTimes(env, exports);
  diodesync::InitUdp(env, exports);
  diodesync::InitCapture(env, exports);
  diodesync::InitWriteback(env, exports);
  diodesync::InitParity(env, exports);
  diodesync::InitCrc32(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(diodesync_native, Init)
