// A packet socket for receiving from a network tap (capture://IFACE:PORT).
//
// new PacketSocket({ interface, filter, rcvbuf }):
//   socket(AF_PACKET, SOCK_RAW, 0): protocol 0 receives nothing until bind,
//   so the filter is in place before the first frame; SO_ATTACH_FILTER with
//   the classic BPF program capture-filter.ts generates (4 words per
//   instruction: code, jt, jf, k); PACKET_IGNORE_OUTGOING (a sender on the
//   same host is not read back); SO_RCVBUFFORCE (SO_RCVBUF without
//   CAP_NET_ADMIN); bind to the interface with ETH_P_ALL; then
//   PACKET_ADD_MEMBERSHIP PACKET_MR_PROMISC, which the kernel drops when the
//   socket closes, so the interface leaves promiscuous mode with us however
//   the process ends.
// recvBatch(ring, slotSize, maxSlots, lengths, timeoutMs) -> frames:
//   recvmmsg(2) into fixed slots (the same shape as UdpSocket.recvBatch), not
//   a TPACKET_V3 ring: one copy per frame either way at our rates, and no
//   mmap, block timeouts or frame walking to get right; poll(2) waits when
//   the queue is empty. lengths[i] is the frame's length (more than slotSize:
//   cut); 0 for a frame the host itself sent (kernels before 4.20 lack
//   PACKET_IGNORE_OUTGOING).
// info() -> { ifindex, rcvbuf, ignoreOutgoing, closed, drops }: drops is the
//   kernel's count of frames it dropped for want of buffer, since the start.
// Errors are JS Errors with errno (negative, as Node's) and syscall.

#include "capture.h"

#ifdef __linux__

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netpacket/packet.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

namespace diodesync {
namespace {

constexpr size_t kMaxMessages = 1024;  // UIO_MAXIOV

// struct tpacket_stats of linux/if_packet.h, which clashes with glibc's netpacket/packet.h.
struct PacketStats {
  unsigned int tp_packets;
  unsigned int tp_drops;
};

void ThrowErrno(Napi::Env env, int err, const char* syscall, const std::string& detail = "") {
  Napi::Error e = Napi::Error::New(env, std::string(syscall) + ": " + (detail.empty() ? std::strerror(err) : detail));
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("syscall", Napi::String::New(env, syscall));
  e.ThrowAsJavaScriptException();
}

bool GetBytes(Napi::Env env, Napi::Value v, const char* name, uint8_t** data, size_t* size) {
  if (v.IsTypedArray()) {
    Napi::TypedArray t = v.As<Napi::TypedArray>();
    *data = static_cast<uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset();
    *size = t.ByteLength();
    return true;
  }
  Napi::TypeError::New(env, std::string(name) + " must be a typed array").ThrowAsJavaScriptException();
  return false;
}

class PacketSocket : public Napi::ObjectWrap<PacketSocket> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "PacketSocket", {
      InstanceMethod<&PacketSocket::RecvBatch>("recvBatch"),
      InstanceMethod<&PacketSocket::Close>("close"),
      InstanceMethod<&PacketSocket::Info>("info"),
    });
  }

  explicit PacketSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PacketSocket>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) {
      Napi::TypeError::New(env, "options must be an object").ThrowAsJavaScriptException();
      return;
    }
    Napi::Object o = info[0].As<Napi::Object>();
    const std::string iface = o.Get("interface").ToString().Utf8Value();
    const int64_t rcvbuf = o.Get("rcvbuf").ToNumber().Int64Value();
    if (!o.Get("filter").IsTypedArray()) {
      Napi::TypeError::New(env, "filter must be a Uint32Array").ThrowAsJavaScriptException();
      return;
    }
    Napi::Uint32Array words = o.Get("filter").As<Napi::Uint32Array>();
    std::vector<sock_filter> program(words.ElementLength() / 4);
    for (size_t i = 0; i < program.size(); i++) {
      program[i].code = static_cast<uint16_t>(words[i * 4]);
      program[i].jt = static_cast<uint8_t>(words[i * 4 + 1]);
      program[i].jf = static_cast<uint8_t>(words[i * 4 + 2]);
      program[i].k = words[i * 4 + 3];
    }

    ifindex_ = static_cast<int>(if_nametoindex(iface.c_str()));
    if (ifindex_ == 0) { ThrowErrno(env, ENODEV, "if_nametoindex", "no interface named " + iface); return; }
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) { ThrowErrno(env, errno, "socket"); return; }
    fd_ = fd;

    // Only Ethernet framing is decoded (a loopback device has it too).
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, iface.c_str(), IFNAMSIZ - 1);
    if (ioctl(fd_, SIOCGIFHWADDR, &ifr) != 0) { Fail(env, errno, "ioctl"); return; }
    if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER && ifr.ifr_hwaddr.sa_family != ARPHRD_LOOPBACK) {
      { Fail(env, EPROTONOSUPPORT, "ioctl",
                  iface + " is not an Ethernet interface (ARPHRD " + std::to_string(ifr.ifr_hwaddr.sa_family) + ")"); return; }
    }
    sock_fprog prog{static_cast<unsigned short>(program.size()), program.data()};
    if (setsockopt(fd_, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) != 0) { Fail(env, errno, "setsockopt"); return; }
    int one = 1;
    ignore_outgoing_ = setsockopt(fd_, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) == 0;
    if (rcvbuf > 0) {
      int bytes = static_cast<int>(std::min<int64_t>(rcvbuf, 1 << 30));
      // FORCE passes net.core.rmem_max (CAP_NET_ADMIN); without it, the capped size.
      if (setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) != 0 &&
          setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)) != 0) {
        { Fail(env, errno, "setsockopt"); return; }
      }
    }
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_ALL);
    addr.sll_ifindex = ifindex_;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) { Fail(env, errno, "bind"); return; }
    packet_mreq mreq{};
    mreq.mr_ifindex = ifindex_;
    mreq.mr_type = PACKET_MR_PROMISC;
    if (setsockopt(fd_, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) != 0) { Fail(env, errno, "setsockopt"); return; }
  }

  ~PacketSocket() override { CloseFd(); }

 private:
  void Fail(Napi::Env env, int err, const char* syscall, const std::string& detail = "") {
    CloseFd();
    ThrowErrno(env, err, syscall, detail);
  }

  void CloseFd() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  Napi::Value RecvBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) {
      ThrowErrno(env, EBADF, "recvmmsg");
      return env.Undefined();
    }
    uint8_t* ring;
    size_t ring_size;
    if (!GetBytes(env, info[0], "ring", &ring, &ring_size)) return env.Undefined();
    const int64_t slot_size = info[1].ToNumber().Int64Value();
    const int64_t max_slots = info[2].ToNumber().Int64Value();
    const int64_t timeout_ms = info[4].ToNumber().Int64Value();
    if (!info[3].IsTypedArray() || info[3].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
      Napi::TypeError::New(env, "lengths must be a Uint32Array").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Uint32Array lengths = info[3].As<Napi::Uint32Array>();
    if (slot_size < 1 || max_slots < 1 || static_cast<size_t>(slot_size * max_slots) > ring_size ||
        lengths.ElementLength() < static_cast<size_t>(max_slots)) {
      Napi::RangeError::New(env, "ring, slots and lengths do not fit").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const size_t n = std::min(static_cast<size_t>(max_slots), kMaxMessages);
    msgs_.resize(n);
    iovs_.resize(n);
    from_.resize(n);
    for (size_t i = 0; i < n; i++) {
      iovs_[i].iov_base = ring + i * static_cast<size_t>(slot_size);
      iovs_[i].iov_len = static_cast<size_t>(slot_size);
      std::memset(&msgs_[i], 0, sizeof(mmsghdr));
      msgs_[i].msg_hdr.msg_iov = &iovs_[i];
      msgs_[i].msg_hdr.msg_iovlen = 1;
      msgs_[i].msg_hdr.msg_name = &from_[i];
      msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_ll);
    }
    int r;
    bool waited = false;
    for (;;) {
      // MSG_TRUNC: msg_len is the frame's real length even when the slot cut it.
      r = recvmmsg(fd_, msgs_.data(), static_cast<unsigned>(n), MSG_DONTWAIT | MSG_TRUNC, nullptr);
      if (r >= 0) break;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        ThrowErrno(env, errno, "recvmmsg");
        return env.Undefined();
      }
      if (waited || timeout_ms == 0) return Napi::Number::New(env, 0);
      pollfd p{fd_, POLLIN, 0};
      int w = poll(&p, 1, static_cast<int>(std::min<int64_t>(timeout_ms, 1000000)));
      if (w < 0 && errno != EINTR) {
        ThrowErrno(env, errno, "poll");
        return env.Undefined();
      }
      waited = true;
    }
    for (int i = 0; i < r; i++) {
      lengths[i] = from_[i].sll_pkttype == PACKET_OUTGOING ? 0 : msgs_[i].msg_len;
    }
    return Napi::Number::New(env, r);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    CloseFd();
    return info.Env().Undefined();
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    int bytes = 0;
    socklen_t len = sizeof(bytes);
    if (fd_ >= 0) getsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, &len);
    o.Set("ifindex", ifindex_);
    o.Set("rcvbuf", bytes);
    o.Set("ignoreOutgoing", ignore_outgoing_);
    // Frames the kernel dropped since the last call (its buffer was full): reading resets them.
    PacketStats stats{};
    socklen_t stats_len = sizeof(stats);
    if (fd_ >= 0 && getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &stats, &stats_len) == 0) drops_ += stats.tp_drops;
    o.Set("drops", static_cast<double>(drops_));
    o.Set("closed", fd_ < 0);
    return o;
  }

  int fd_ = -1;
  int ifindex_ = 0;
  bool ignore_outgoing_ = false;
  uint64_t drops_ = 0;
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iovs_;
  std::vector<sockaddr_ll> from_;
};

}  // namespace

void InitCapture(Napi::Env env, Napi::Object exports) {
  exports.Set("PacketSocket", PacketSocket::Define(env));
}

}  // namespace diodesync

#else  // !__linux__

namespace diodesync {
// No packet sockets off Linux: capture.ts says so and the tcpdump fallback runs.
void InitCapture(Napi::Env, Napi::Object) {}
}  // namespace diodesync

#endif
