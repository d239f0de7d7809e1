#ifndef DIODESYNC_NATIVE_CAPTURE_H_
#define DIODESYNC_NATIVE_CAPTURE_H_

#include <napi.h>

namespace diodesync {

// Adds, on Linux, the PacketSocket class to exports: an AF_PACKET socket on one
// interface, promiscuous, with a classic BPF filter, read many frames per call
// (recvmmsg). See capture.cc; capture.ts is the API.
void InitCapture(Napi::Env env, Napi::Object exports);

}  // namespace diodesync

#endif  // DIODESYNC_NATIVE_CAPTURE_H_
