// startWriteback: sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE).
// It asks the kernel to start writing a range's dirty pages to disk now and
// returns without waiting for them, so that a file's final fdatasync finds
// most of its data already written rather than all of it still in memory.
// It can still block while the device's request queue is full, so it runs on
// the libuv thread pool (as fs writes do), never on the JavaScript thread.
#include "writeback.h"

#ifdef __linux__
#include <fcntl.h>
#endif

#include <cerrno>
#include <cstdint>

namespace diodesync {
namespace {

#ifdef __linux__

class WritebackWorker : public Napi::AsyncWorker {
 public:
  WritebackWorker(Napi::Env env, int fd, int64_t offset, int64_t length)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)),
        fd_(fd), offset_(offset), length_(length) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
    for (;;) {
      if (sync_file_range(fd_, offset_, length_, SYNC_FILE_RANGE_WRITE) == 0) return;
      if (errno != EINTR) {
        err_ = errno;
        return;
      }
    }
  }
  void OnOK() override { deferred_.Resolve(Napi::Number::New(Env(), err_)); }

 private:
  Napi::Promise::Deferred deferred_;
  int fd_;
  int64_t offset_;
  int64_t length_;
  int err_ = 0;
};

bool GetInteger(const Napi::Value& v, int64_t min, int64_t* out) {
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= static_cast<double>(min)) || d > 9007199254740991.0 || d != static_cast<double>(static_cast<int64_t>(d))) return false;
  *out = static_cast<int64_t>(d);
  return true;
}

// startWriteback(fd, offset, length) -> Promise<number>: 0, or the errno.
// length 0 means to the end of the file.
Napi::Value StartWriteback(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd, offset, length;
  if (info.Length() < 3 || !GetInteger(info[0], 0, &fd) || fd > 2147483647 ||
      !GetInteger(info[1], 0, &offset) || !GetInteger(info[2], 0, &length)) {
    Napi::TypeError::New(env, "startWriteback(fd, offset, length) takes non-negative integers")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* worker = new WritebackWorker(env, static_cast<int>(fd), offset, length);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

#endif  // __linux__

}  // namespace

void InitWriteback(Napi::Env env, Napi::Object exports) {
#ifdef __linux__
  exports.Set("startWriteback", Napi::Function::New(env, StartWriteback, "startWriteback"));
#else
  (void)env;
  (void)exports;
#endif
}

}  // namespace diodesync
