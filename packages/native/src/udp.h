#ifndef DIODESYNC_NATIVE_UDP_H_
#define DIODESYNC_NATIVE_UDP_H_

#include <napi.h>

namespace diodesync {

// Adds udpProbe() and, on Linux, the UdpSocket class (batched datagram I/O:
// sendmmsg, UDP_SEGMENT, recvmmsg, UDP_GRO) to exports. See udp.cc.
void InitUdp(Napi::Env env, Napi::Object exports);

}  // namespace diodesync

#endif  // DIODESYNC_NATIVE_UDP_H_
