#ifndef DIODESYNC_NATIVE_PARITY_H_
#define DIODESYNC_NATIVE_PARITY_H_

#include <napi.h>

namespace diodesync {

// Adds encodeParity(context, data, parity, shardSize) to exports: the parity shards of one
// Reed-Solomon block, on the calling thread. See parity.cc.
void InitParity(Napi::Env env, Napi::Object exports);

}  // namespace diodesync

#endif  // DIODESYNC_NATIVE_PARITY_H_
