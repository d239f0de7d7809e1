#ifndef DIODESYNC_NATIVE_TIMES_H_
#define DIODESYNC_NATIVE_TIMES_H_

#include <napi.h>

namespace diodesync {

// Adds setFileTimes(path, atimeNs, mtimeNs) -> errno (0 on success) to exports.
void InitTimes(Napi::Env env, Napi::Object exports);

}  // namespace diodesync

#endif  // DIODESYNC_NATIVE_TIMES_H_
