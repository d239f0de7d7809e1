#ifndef DIODESYNC_NATIVE_WRITEBACK_H_
#define DIODESYNC_NATIVE_WRITEBACK_H_

#include <napi.h>

namespace diodesync {

// Adds startWriteback(fd, offset, length) -> Promise<errno> (0 on success;
// Linux only, sync_file_range(SYNC_FILE_RANGE_WRITE) on the libuv thread pool)
// to exports. See writeback.cc.
void InitWriteback(Napi::Env env, Napi::Object exports);

}  // namespace diodesync

#endif  // DIODESYNC_NATIVE_WRITEBACK_H_
