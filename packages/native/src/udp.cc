// Batched UDP for Linux: many datagrams per system call, where node:dgram
// makes one call (and one callback) per datagram.
//
// - sendBatch: frames from one caller-owned buffer, by sendmmsg(2); runs of
//   frames of one size (the last of a run may be shorter) go as one UDP GSO
//   message (UDP_SEGMENT cmsg) of up to 64 KB, which the kernel splits into
//   datagrams. A kernel or route that refuses GSO (EIO, EINVAL) turns it off
//   for the socket, and the batch goes again by plain sendmmsg.
// - recvBatch: recvmmsg(2) into fixed-size slots of caller-owned memory (a
//   SharedArrayBuffer works), waiting with poll(2) up to a timeout, so that a
//   worker thread can loop on it and still stop. With UDP_GRO the kernel may
//   hand over several datagrams of one size in one slot, and says the size.
//
// The fd is non-blocking in effect (MSG_DONTWAIT on every call): a full send
// buffer waits in poll(POLLOUT) up to sendTimeoutMs, an empty receive queue in
// poll(POLLIN) up to the caller's timeout. At full speed no poll is made.
//
// Errors are thrown as JS Errors with errno (negative, as Node's) and syscall;
// udp.ts turns them into Node-style errors with code.
#include "udp.h"

#ifdef __linux__

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace diodesync {
namespace {

// The kernel's UDP_MAX_SEGMENTS (64 until Linux 6.x raised it to 128).
constexpr size_t kMaxGsoSegments = 64;
// Largest UDP payload in one IPv4 datagram (65535 - 20 - 8): a GSO message's cap.
constexpr size_t kMaxGsoBytes = 65507;
// UIO_MAXIOV: the most messages one sendmmsg/recvmmsg call takes.
constexpr size_t kMaxMessages = 1024;
// recvPacked: a datagram's whole room, the ring's part and the spill's together.
constexpr size_t kSpillStride = 65536;

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    Reset(other.Release());
    return *this;
  }
  ~UniqueFd() { Reset(); }
  int Get() const { return fd_; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void Reset(int fd = -1) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

union GsoControl {
  char buf[CMSG_SPACE(sizeof(uint16_t))];
  cmsghdr align;
};
union GroControl {
  char buf[CMSG_SPACE(sizeof(int))];
  cmsghdr align;
};

// Throws Error{errno: -err, syscall, [address, port]} (the wrapper names the code).
void ThrowErrno(Napi::Env env, int err, const char* syscall,
                const std::string& address = "", int port = -1,
                double sent = -1) {
  Napi::Error e = Napi::Error::New(
      env, std::string(syscall) + ": " + std::strerror(err));
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("syscall", Napi::String::New(env, syscall));
  if (!address.empty()) e.Set("address", Napi::String::New(env, address));
  if (port >= 0) e.Set("port", Napi::Number::New(env, port));
  if (sent >= 0) e.Set("sent", Napi::Number::New(env, sent));
  e.ThrowAsJavaScriptException();
}

void ThrowType(Napi::Env env, const std::string& message) {
  Napi::TypeError::New(env, message).ThrowAsJavaScriptException();
}
void ThrowRange(Napi::Env env, const std::string& message) {
  Napi::RangeError::New(env, message).ThrowAsJavaScriptException();
}

int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// An interface: a name ("lo") or an index ("1").
unsigned InterfaceIndex(const std::string& name) {
  if (name.empty()) return 0;
  char* end = nullptr;
  unsigned long n = std::strtoul(name.c_str(), &end, 10);
  if (end != name.c_str() && *end == '\0') return static_cast<unsigned>(n);
  return if_nametoindex(name.c_str());
}

// "192.0.2.1" or "2001:db8::1" / "fe80::1%eth0" -> sockaddr of the socket's
// family (an IPv4 address on an IPv6 socket becomes v4-mapped).
bool ParseAddress(int family, const std::string& host, int port,
                  sockaddr_storage* out, socklen_t* len) {
  std::memset(out, 0, sizeof(*out));
  if (family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(out);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, host.c_str(), &sin->sin_addr) != 1) return false;
    *len = sizeof(*sin);
    return true;
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(out);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(static_cast<uint16_t>(port));
  *len = sizeof(*sin6);
  std::string addr = host;
  size_t pct = host.find('%');
  if (pct != std::string::npos) {
    addr = host.substr(0, pct);
    sin6->sin6_scope_id = InterfaceIndex(host.substr(pct + 1));
    if (sin6->sin6_scope_id == 0) return false;
  }
  if (inet_pton(AF_INET6, addr.c_str(), &sin6->sin6_addr) == 1) return true;
  in_addr v4;
  if (pct == std::string::npos && inet_pton(AF_INET, addr.c_str(), &v4) == 1) {
    sin6->sin6_addr.s6_addr[10] = 0xff;
    sin6->sin6_addr.s6_addr[11] = 0xff;
    std::memcpy(&sin6->sin6_addr.s6_addr[12], &v4, 4);
    return true;
  }
  return false;
}

std::string FormatAddress(const sockaddr_storage& ss, int* port) {
  char text[INET6_ADDRSTRLEN] = "";
  if (ss.ss_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text));
    *port = ntohs(sin->sin_port);
  } else {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text));
    *port = ntohs(sin6->sin6_port);
  }
  return text;
}

// A Uint8Array's bytes (a Buffer, or a view of a SharedArrayBuffer).
// napi_get_typedarray_info, not Napi::ArrayBuffer::Data(): the latter refuses
// a SharedArrayBuffer.
bool GetBytes(Napi::Env env, Napi::Value value, const char* name,
              uint8_t** data, size_t* length) {
  napi_typedarray_type type;
  void* ptr = nullptr;
  if (!value.IsTypedArray() ||
      napi_get_typedarray_info(env, value, &type, length, &ptr, nullptr,
                               nullptr) != napi_ok ||
      type != napi_uint8_array) {
    ThrowType(env, std::string(name) + " must be a Uint8Array (a Buffer)");
    return false;
  }
  *data = static_cast<uint8_t*>(ptr);
  return true;
}

// A Uint32Array or Int32Array (the same 4 bytes per element for our uses).
bool GetWords(Napi::Env env, Napi::Value value, const char* name,
              uint32_t** data, size_t* length) {
  napi_typedarray_type type;
  void* ptr = nullptr;
  if (!value.IsTypedArray() ||
      napi_get_typedarray_info(env, value, &type, length, &ptr, nullptr,
                               nullptr) != napi_ok ||
      (type != napi_uint32_array && type != napi_int32_array)) {
    ThrowType(env, std::string(name) + " must be a Uint32Array or an Int32Array");
    return false;
  }
  *data = static_cast<uint32_t*>(ptr);
  return true;
}

// A whole number in [min, max], or a RangeError/TypeError.
bool GetInt(Napi::Env env, Napi::Value value, const char* name, double min,
            double max, int64_t* out) {
  if (!value.IsNumber()) {
    ThrowType(env, std::string(name) + " must be a number");
    return false;
  }
  double d = value.As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max) || d != static_cast<double>(static_cast<int64_t>(d))) {
    ThrowRange(env, std::string(name) + " is out of range");
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

// Sets SO_{SND,RCV}BUF, first by the *FORCE variant (which passes the
// net.core.{w,r}mem_max cap when CAP_NET_ADMIN is held), then plainly.
// Returns 0 or the errno of the plain call.
int SetBuffer(int fd, int force_opt, int opt, int bytes) {
  if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof(bytes)) == 0) return 0;
  return setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof(bytes)) == 0 ? 0 : errno;
}

int GetIntOpt(int fd, int level, int opt) {
  int value = 0;
  socklen_t len = sizeof(value);
  return getsockopt(fd, level, opt, &value, &len) == 0 ? value : -1;
}

std::string GetString(Napi::Object o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}
double GetNumber(Napi::Object o, const char* key, double fallback) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : fallback;
}
bool GetBool(Napi::Object o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() && v.As<Napi::Boolean>().Value();
}

class UdpSocket : public Napi::ObjectWrap<UdpSocket> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "UdpSocket",
        {InstanceMethod<&UdpSocket::SendBatch>("sendBatch"),
         InstanceMethod<&UdpSocket::RecvBatch>("recvBatch"),
         InstanceMethod<&UdpSocket::RecvPacked>("recvPacked"),
         InstanceMethod<&UdpSocket::Close>("close"),
         InstanceMethod<&UdpSocket::Info>("info")});
  }

  // new UdpSocket({ family: 4|6, bindAddress, bindPort, connectAddress?,
  //   connectPort?, reuseAddr, broadcast, sndbuf, rcvbuf, multicastTtl,
  //   multicastInterface?, multicastLoop, joinGroup?, joinInterface?, gso, gro,
  //   sendTimeoutMs, noCheck? })
  explicit UdpSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UdpSocket>(info) {
    Open(info);
  }

 private:
  // The constructor's work; on failure a JS exception is pending and the fd,
  // if any, is closed at once (not when the half-made object is collected).
  void Open(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) {
      ThrowType(env, "options must be an object");
      return;
    }
    Napi::Object o = info[0].As<Napi::Object>();
    family_ = GetNumber(o, "family", 4) == 6 ? AF_INET6 : AF_INET;
    send_timeout_ms_ = static_cast<int>(GetNumber(o, "sendTimeoutMs", 5000));

    UniqueFd fd(socket(family_, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP));
    if (fd.Get() < 0) return ThrowErrno(env, errno, "socket");
    const int one = 1;
    if (GetBool(o, "reuseAddr") &&
        setsockopt(fd.Get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
      return ThrowErrno(env, errno, "setsockopt");
    }
    if (GetBool(o, "broadcast") &&
        setsockopt(fd.Get(), SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) != 0) {
      return ThrowErrno(env, errno, "setsockopt");
    }
    // For tests only: SO_NO_CHECK (no UDP checksums on IPv4) makes the kernel
    // refuse GSO with EINVAL, which exercises the fall-back to sendmmsg.
    if (GetBool(o, "noCheck") &&
        setsockopt(fd.Get(), SOL_SOCKET, SO_NO_CHECK, &one, sizeof(one)) != 0) {
      return ThrowErrno(env, errno, "setsockopt");
    }
    int sndbuf = static_cast<int>(GetNumber(o, "sndbuf", 0));
    if (sndbuf > 0 && SetBuffer(fd.Get(), SO_SNDBUFFORCE, SO_SNDBUF, sndbuf) != 0) {
      return ThrowErrno(env, errno, "setsockopt");
    }
    int rcvbuf = static_cast<int>(GetNumber(o, "rcvbuf", 0));
    if (rcvbuf > 0 && SetBuffer(fd.Get(), SO_RCVBUFFORCE, SO_RCVBUF, rcvbuf) != 0) {
      return ThrowErrno(env, errno, "setsockopt");
    }

    sockaddr_storage addr;
    socklen_t addr_len;
    std::string bind_address = GetString(o, "bindAddress");
    int bind_port = static_cast<int>(GetNumber(o, "bindPort", 0));
    if (bind_address.empty()) bind_address = family_ == AF_INET6 ? "::" : "0.0.0.0";
    if (!ParseAddress(family_, bind_address, bind_port, &addr, &addr_len)) {
      return ThrowType(env, "invalid bind address: " + bind_address);
    }
    if (bind(fd.Get(), reinterpret_cast<sockaddr*>(&addr), addr_len) != 0) {
      return ThrowErrno(env, errno, "bind", bind_address, bind_port);
    }

    if (!SetMulticast(env, fd.Get(), o)) return;

    std::string connect_address = GetString(o, "connectAddress");
    if (!connect_address.empty()) {
      int connect_port = static_cast<int>(GetNumber(o, "connectPort", 0));
      if (!ParseAddress(family_, connect_address, connect_port, &addr, &addr_len)) {
        return ThrowType(env, "invalid connect address: " + connect_address);
      }
      if (connect(fd.Get(), reinterpret_cast<sockaddr*>(&addr), addr_len) != 0) {
        return ThrowErrno(env, errno, "connect", connect_address, connect_port);
      }
    }

    // GSO: UDP_SEGMENT exists since Linux 4.18; setting 0 asks for nothing
    // yet (the size goes in each message's cmsg) but fails where it is unknown.
    if (GetBool(o, "gso")) {
      int zero = 0;
      if (setsockopt(fd.Get(), SOL_UDP, UDP_SEGMENT, &zero, sizeof(zero)) == 0) {
        gso_ = true;
        gso_reason_ = "UDP_SEGMENT";
      } else {
        gso_reason_ = std::string("UDP_SEGMENT unsupported: ") + std::strerror(errno);
      }
    } else {
      gso_reason_ = "not asked for";
    }
    // GRO: UDP_GRO since Linux 5.0.
    if (GetBool(o, "gro")) {
      if (setsockopt(fd.Get(), SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0) {
        gro_ = true;
        gro_reason_ = "UDP_GRO";
      } else {
        gro_reason_ = std::string("UDP_GRO unsupported: ") + std::strerror(errno);
      }
    } else {
      gro_reason_ = "not asked for";
    }

    sockaddr_storage local;
    socklen_t local_len = sizeof(local);
    if (getsockname(fd.Get(), reinterpret_cast<sockaddr*>(&local), &local_len) != 0) {
      return ThrowErrno(env, errno, "getsockname");
    }
    local_address_ = FormatAddress(local, &local_port_);
    sndbuf_ = GetIntOpt(fd.Get(), SOL_SOCKET, SO_SNDBUF);
    rcvbuf_ = GetIntOpt(fd.Get(), SOL_SOCKET, SO_RCVBUF);
    fd_ = std::move(fd);
  }

  bool SetMulticast(Napi::Env env, int fd, Napi::Object o) {
    const bool v6 = family_ == AF_INET6;
    double ttl = GetNumber(o, "multicastTtl", -1);
    if (ttl >= 0) {
      int hops = static_cast<int>(ttl);
      if (setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP,
                     v6 ? IPV6_MULTICAST_HOPS : IP_MULTICAST_TTL, &hops,
                     sizeof(hops)) != 0) {
        ThrowErrno(env, errno, "setsockopt");
        return false;
      }
    }
    double loop = GetNumber(o, "multicastLoop", -1);
    if (loop >= 0) {
      int on = loop > 0 ? 1 : 0;
      if (setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP,
                     v6 ? IPV6_MULTICAST_LOOP : IP_MULTICAST_LOOP, &on,
                     sizeof(on)) != 0) {
        ThrowErrno(env, errno, "setsockopt");
        return false;
      }
    }
    std::string iface = GetString(o, "multicastInterface");
    if (!iface.empty()) {
      int rc;
      if (v6) {
        // "::%lo", "lo" or "1": the interface index.
        size_t pct = iface.find('%');
        unsigned index = InterfaceIndex(pct == std::string::npos ? iface : iface.substr(pct + 1));
        if (index == 0) {
          ThrowType(env, "unknown multicast interface: " + iface);
          return false;
        }
        rc = setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &index, sizeof(index));
      } else {
        in_addr a;
        if (inet_pton(AF_INET, iface.c_str(), &a) != 1) {
          ThrowType(env, "invalid multicast interface address: " + iface);
          return false;
        }
        rc = setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &a, sizeof(a));
      }
      if (rc != 0) {
        ThrowErrno(env, errno, "setsockopt", iface);
        return false;
      }
    }
    std::string group = GetString(o, "joinGroup");
    if (!group.empty()) {
      std::string join_iface = GetString(o, "joinInterface");
      int rc;
      if (v6) {
        ipv6_mreq mreq{};
        size_t pct = join_iface.find('%');
        mreq.ipv6mr_interface = InterfaceIndex(pct == std::string::npos ? join_iface : join_iface.substr(pct + 1));
        if (inet_pton(AF_INET6, group.c_str(), &mreq.ipv6mr_multiaddr) != 1) {
          ThrowType(env, "invalid multicast group: " + group);
          return false;
        }
        rc = setsockopt(fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &mreq, sizeof(mreq));
      } else {
        ip_mreq mreq{};
        if (inet_pton(AF_INET, group.c_str(), &mreq.imr_multiaddr) != 1 ||
            (!join_iface.empty() && inet_pton(AF_INET, join_iface.c_str(), &mreq.imr_interface) != 1)) {
          ThrowType(env, "invalid multicast group or interface: " + group + " " + join_iface);
          return false;
        }
        rc = setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq));
      }
      if (rc != 0) {
        ThrowErrno(env, errno, "setsockopt", group);
        return false;
      }
    }
    return true;
  }

  // Waits for `events` on the socket until deadline_ms (-1: no deadline).
  // Returns 1 when ready, 0 on timeout, -1 with errno on failure.
  int Wait(short events, int64_t deadline_ms) {
    for (;;) {
      int timeout = -1;
      if (deadline_ms >= 0) {
        int64_t left = deadline_ms - NowMs();
        if (left <= 0) return 0;
        timeout = left > 1000000 ? 1000000 : static_cast<int>(left);
      }
      pollfd p{fd_.Get(), events, 0};
      int r = poll(&p, 1, timeout);
      if (r >= 0) return r;  // POLLERR/POLLHUP also count as ready: the call says why
      if (errno != EINTR) return -1;
    }
  }

  // sendBatch(buffer, lengths: Uint32Array|null, frameSize, count,
  //           offsets: Uint32Array|null, toAddress?: string, toPort?: number)
  // -> count. Frame i starts at offsets[i], or right after frame i-1 (at
  // i*frameSize without lengths); it is lengths[i] long, or frameSize (the
  // last packed frame: whatever is left of the buffer, at most frameSize).
  Napi::Value SendBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_.Get() < 0) {
      ThrowErrno(env, EBADF, "sendmmsg");
      return env.Undefined();
    }
    uint8_t* data;
    size_t size;
    if (!GetBytes(env, info[0], "buffer", &data, &size)) return env.Undefined();
    uint32_t* lengths = nullptr;
    size_t lengths_count = 0;
    if (!info[1].IsNull() && !info[1].IsUndefined() &&
        !GetWords(env, info[1], "lengths", &lengths, &lengths_count)) {
      return env.Undefined();
    }
    int64_t frame_size = 0, count = 0;
    if (!GetInt(env, info[2], "frameSize", 0, 65535, &frame_size) ||
        !GetInt(env, info[3], "count", 0, 1 << 24, &count)) {
      return env.Undefined();
    }
    uint32_t* offsets = nullptr;
    size_t offsets_count = 0;
    if (!info[4].IsNull() && !info[4].IsUndefined() &&
        !GetWords(env, info[4], "offsets", &offsets, &offsets_count)) {
      return env.Undefined();
    }
    if (lengths == nullptr && frame_size == 0 && count > 0) {
      ThrowRange(env, "frameSize must be at least 1 without lengths");
      return env.Undefined();
    }
    if ((lengths != nullptr && lengths_count < static_cast<size_t>(count)) ||
        (offsets != nullptr && offsets_count < static_cast<size_t>(count))) {
      ThrowRange(env, "lengths and offsets must hold count entries");
      return env.Undefined();
    }
    sockaddr_storage to;
    socklen_t to_len = 0;
    std::string to_address;
    int64_t to_port = 0;
    if (info.Length() > 5 && info[5].IsString()) {
      to_address = info[5].As<Napi::String>().Utf8Value();
      if (!GetInt(env, info[6], "port", 1, 65535, &to_port)) return env.Undefined();
      if (!ParseAddress(family_, to_address, static_cast<int>(to_port), &to, &to_len)) {
        ThrowType(env, "invalid destination address: " + to_address);
        return env.Undefined();
      }
    }

    // One iovec per frame.
    const size_t n = static_cast<size_t>(count);
    iovs_.resize(n);
    size_t next = 0;
    for (size_t i = 0; i < n; i++) {
      size_t off = offsets ? offsets[i] : lengths ? next : i * static_cast<size_t>(frame_size);
      size_t len;
      if (lengths) {
        len = lengths[i];
      } else if (offsets) {
        len = static_cast<size_t>(frame_size);
      } else {
        len = off < size ? std::min(static_cast<size_t>(frame_size), size - off) : 0;
        if (len == 0) {
          ThrowRange(env, "count * frameSize is beyond the end of the buffer");
          return env.Undefined();
        }
      }
      if (off > size || len > size - off) {
        ThrowRange(env, "frame " + std::to_string(i) + " is beyond the end of the buffer");
        return env.Undefined();
      }
      iovs_[i].iov_base = data + off;
      iovs_[i].iov_len = len;
      next = off + len;
    }

    size_t frame = 0;
    int refused_in_a_row = 0;
    int64_t deadline = -1;
    while (frame < n) {
      // Messages from `frame` on: a GSO run, or one datagram each.
      msgs_.resize(std::min(n - frame, kMaxMessages));
      firsts_.resize(msgs_.size() + 1);
      if (gso_) gso_ctrl_.resize(msgs_.size());
      size_t m = 0, j = frame;
      for (; j < n && m < msgs_.size(); m++) {
        size_t segs = 1;
        const size_t seg = iovs_[j].iov_len;
        if (gso_ && seg > 0) {
          size_t total = seg;
          while (j + segs < n && segs < kMaxGsoSegments) {
            size_t len = iovs_[j + segs].iov_len;
            if (len == 0 || len > seg || total + len > kMaxGsoBytes) break;
            total += len;
            segs++;
            if (len < seg) break;  // a shorter datagram ends the run
          }
        }
        mmsghdr& msg = msgs_[m];
        std::memset(&msg, 0, sizeof(msg));
        msg.msg_hdr.msg_iov = &iovs_[j];
        msg.msg_hdr.msg_iovlen = segs;
        if (to_len > 0) {
          msg.msg_hdr.msg_name = &to;
          msg.msg_hdr.msg_namelen = to_len;
        }
        if (segs > 1) {
          GsoControl& c = gso_ctrl_[m];
          std::memset(&c, 0, sizeof(c));
          msg.msg_hdr.msg_control = c.buf;
          msg.msg_hdr.msg_controllen = sizeof(c.buf);
          cmsghdr* cm = CMSG_FIRSTHDR(&msg.msg_hdr);
          cm->cmsg_level = SOL_UDP;
          cm->cmsg_type = UDP_SEGMENT;
          cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
          uint16_t gso_size = static_cast<uint16_t>(seg);
          std::memcpy(CMSG_DATA(cm), &gso_size, sizeof(gso_size));
        }
        firsts_[m] = j;
        j += segs;
      }
      firsts_[m] = j;

      size_t done = 0;
      while (done < m) {
        int r = sendmmsg(fd_.Get(), &msgs_[done], static_cast<unsigned>(m - done), MSG_DONTWAIT);
        if (r > 0) {
          for (int k = 0; k < r; k++) {
            if (msgs_[done + k].msg_hdr.msg_controllen > 0) gso_used_ = true;
          }
          done += static_cast<size_t>(r);
          refused_in_a_row = 0;
          deadline = -1;
          continue;
        }
        int err = errno;
        if (err == EINTR) continue;
        if (err == ECONNREFUSED && refused_in_a_row++ < 64) {
          // An ICMP port unreachable for an earlier datagram to a connected
          // peer, reported (and cleared) here; this message was not sent.
          refused_ += 1;
          continue;
        }
        if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
          if (deadline < 0) deadline = NowMs() + send_timeout_ms_;
          int w;
          if (err == ENOBUFS) {
            // Out of memory or queue; poll would say writable at once.
            timespec ts{0, 500000};
            nanosleep(&ts, nullptr);
            w = NowMs() < deadline ? 1 : 0;
          } else {
            w = Wait(POLLOUT, deadline);
          }
          if (w > 0) continue;
          if (w < 0) err = errno;
          else err = ETIMEDOUT;  // the send buffer did not drain in sendTimeoutMs
        } else if ((err == EIO || err == EINVAL) && msgs_[done].msg_hdr.msg_controllen > 0) {
          // GSO refused (no checksum offload on the route, a segment bigger
          // than the route's MTU, ...): off for good, and again by sendmmsg.
          gso_ = false;
          gso_reason_ = std::string("UDP_SEGMENT refused by the kernel (") +
                        (err == EIO ? "EIO" : "EINVAL") + "): " + std::strerror(err);
          break;
        }
        ThrowErrno(env, err, "sendmmsg", to_address, to_len > 0 ? static_cast<int>(to_port) : -1,
                   static_cast<double>(firsts_[done]));
        return env.Undefined();
      }
      frame = firsts_[done];
    }
    return Napi::Number::New(env, static_cast<double>(n));
  }

  // recvBatch(ring, slotSize, firstSlot, maxSlots, lengths, segments|null,
  //           timeoutMs) -> datagrams received (0 on timeout). Slot
  // firstSlot + i gets datagram i; lengths[firstSlot + i] its length (more
  // than slotSize: it was cut to slotSize); segments[firstSlot + i] the GRO
  // segment size when the slot holds several datagrams, else 0.
  Napi::Value RecvBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_.Get() < 0) {
      ThrowErrno(env, EBADF, "recvmmsg");
      return env.Undefined();
    }
    uint8_t* ring;
    size_t ring_size;
    if (!GetBytes(env, info[0], "ring", &ring, &ring_size)) return env.Undefined();
    int64_t slot_size, first, max_slots, timeout_ms;
    if (!GetInt(env, info[1], "slotSize", 1, 1 << 30, &slot_size) ||
        !GetInt(env, info[2], "firstSlot", 0, 1 << 30, &first) ||
        !GetInt(env, info[3], "maxSlots", 1, 1 << 30, &max_slots) ||
        !GetInt(env, info[6], "timeoutMs", -1, 2147483647, &timeout_ms)) {
      return env.Undefined();
    }
    uint32_t* lengths;
    size_t lengths_count;
    if (!GetWords(env, info[4], "lengths", &lengths, &lengths_count)) return env.Undefined();
    uint32_t* segments = nullptr;
    size_t segments_count = 0;
    if (!info[5].IsNull() && !info[5].IsUndefined() &&
        !GetWords(env, info[5], "segments", &segments, &segments_count)) {
      return env.Undefined();
    }
    const size_t end = static_cast<size_t>(first + max_slots);
    if (end * static_cast<size_t>(slot_size) > ring_size) {
      ThrowRange(env, "(firstSlot + maxSlots) * slotSize is beyond the end of the ring");
      return env.Undefined();
    }
    if (gro_ && slot_size < 65535) {
      // A coalesced message is up to 64 KB: a smaller slot would cut it.
      ThrowRange(env, "with GRO on, slots must hold 65535 bytes");
      return env.Undefined();
    }
    if (lengths_count < end || (segments != nullptr && segments_count < end)) {
      ThrowRange(env, "lengths and segments must hold firstSlot + maxSlots entries");
      return env.Undefined();
    }

    const size_t n = std::min(static_cast<size_t>(max_slots), kMaxMessages);
    rmsgs_.resize(n);
    riovs_.resize(n);
    if (gro_) gro_ctrl_.resize(n);
    for (size_t i = 0; i < n; i++) {
      riovs_[i].iov_base = ring + (static_cast<size_t>(first) + i) * static_cast<size_t>(slot_size);
      riovs_[i].iov_len = static_cast<size_t>(slot_size);
      mmsghdr& msg = rmsgs_[i];
      std::memset(&msg, 0, sizeof(msg));
      msg.msg_hdr.msg_iov = &riovs_[i];
      msg.msg_hdr.msg_iovlen = 1;
      if (gro_) {
        msg.msg_hdr.msg_control = gro_ctrl_[i].buf;
        msg.msg_hdr.msg_controllen = sizeof(gro_ctrl_[i].buf);
      }
    }

    return Receive(env, n, timeout_ms, static_cast<size_t>(first), lengths, segments);
  }

  // recvPacked(ring, at, stride, count, spill, lengths, segments|null,
  //            firstEntry, timeoutMs) -> datagrams received (0 on timeout).
  // Datagram i lands at ring[at + i * stride]: its first `stride` bytes there,
  // the rest (a datagram larger than any before it) at spill[i * 65536 +
  // stride], so that nothing is cut and the ring can hold datagrams packed at
  // the size it has seen (udp-ring.ts puts a longer one together). lengths and
  // segments as recvBatch, at entry firstEntry + i.
  Napi::Value RecvPacked(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_.Get() < 0) {
      ThrowErrno(env, EBADF, "recvmmsg");
      return env.Undefined();
    }
    uint8_t* ring;
    size_t ring_size;
    uint8_t* spill;
    size_t spill_size;
    if (!GetBytes(env, info[0], "ring", &ring, &ring_size) || !GetBytes(env, info[4], "spill", &spill, &spill_size)) {
      return env.Undefined();
    }
    int64_t at, stride, count, first, timeout_ms;
    if (!GetInt(env, info[1], "at", 0, 9007199254740991.0, &at) ||
        !GetInt(env, info[2], "stride", 1, static_cast<double>(kSpillStride), &stride) ||
        !GetInt(env, info[3], "count", 1, 1 << 30, &count) ||
        !GetInt(env, info[7], "firstEntry", 0, 1 << 30, &first) ||
        !GetInt(env, info[8], "timeoutMs", -1, 2147483647, &timeout_ms)) {
      return env.Undefined();
    }
    uint32_t* lengths;
    size_t lengths_count;
    if (!GetWords(env, info[5], "lengths", &lengths, &lengths_count)) return env.Undefined();
    uint32_t* segments = nullptr;
    size_t segments_count = 0;
    if (!info[6].IsNull() && !info[6].IsUndefined() &&
        !GetWords(env, info[6], "segments", &segments, &segments_count)) {
      return env.Undefined();
    }
    const size_t n = std::min(static_cast<size_t>(count), kMaxMessages);
    const size_t end = static_cast<size_t>(first) + n;
    if (static_cast<size_t>(at) + n * static_cast<size_t>(stride) > ring_size) {
      ThrowRange(env, "at + count * stride is beyond the end of the ring");
      return env.Undefined();
    }
    if (n * kSpillStride > spill_size) {
      ThrowRange(env, "spill must hold count * 65536 bytes");
      return env.Undefined();
    }
    if (lengths_count < end || (segments != nullptr && segments_count < end)) {
      ThrowRange(env, "lengths and segments must hold firstEntry + count entries");
      return env.Undefined();
    }
    rmsgs_.resize(n);
    riovs_.resize(2 * n);
    if (gro_) gro_ctrl_.resize(n);
    const size_t head = static_cast<size_t>(stride);
    for (size_t i = 0; i < n; i++) {
      iovec* iov = &riovs_[2 * i];
      iov[0].iov_base = ring + static_cast<size_t>(at) + i * head;
      iov[0].iov_len = head;
      iov[1].iov_base = spill + i * kSpillStride + head;
      iov[1].iov_len = kSpillStride - head;
      mmsghdr& msg = rmsgs_[i];
      std::memset(&msg, 0, sizeof(msg));
      msg.msg_hdr.msg_iov = iov;
      msg.msg_hdr.msg_iovlen = head < kSpillStride ? 2 : 1;
      if (gro_) {
        msg.msg_hdr.msg_control = gro_ctrl_[i].buf;
        msg.msg_hdr.msg_controllen = sizeof(gro_ctrl_[i].buf);
      }
    }
    return Receive(env, n, timeout_ms, static_cast<size_t>(first), lengths, segments);
  }

  // One recvmmsg over the n messages set up in rmsgs_, waiting up to
  // timeout_ms; fills lengths and segments from entry `first`.
  Napi::Value Receive(Napi::Env env, size_t n, int64_t timeout_ms, size_t first, uint32_t* lengths, uint32_t* segments) {
    const int64_t deadline = timeout_ms > 0 ? NowMs() + timeout_ms : -1;
    int r;
    for (;;) {
      // MSG_TRUNC: msg_len is the datagram's real length even when cut.
      r = recvmmsg(fd_.Get(), rmsgs_.data(), static_cast<unsigned>(n), MSG_DONTWAIT | MSG_TRUNC, nullptr);
      if (r >= 0) break;
      int err = errno;
      if (err == EINTR) continue;
      if (err == ECONNREFUSED) {
        refused_ += 1;
        continue;
      }
      if (err != EAGAIN && err != EWOULDBLOCK) {
        ThrowErrno(env, err, "recvmmsg");
        return env.Undefined();
      }
      if (timeout_ms == 0) return Napi::Number::New(env, 0);
      int w = Wait(POLLIN, deadline);
      if (w == 0) return Napi::Number::New(env, 0);
      if (w < 0) {
        ThrowErrno(env, errno, "poll");
        return env.Undefined();
      }
    }
    for (int i = 0; i < r; i++) {
      const msghdr& h = rmsgs_[i].msg_hdr;
      lengths[first + i] = rmsgs_[i].msg_len;
      if (segments == nullptr) continue;
      uint32_t seg = 0;
      if (gro_) {
        for (const cmsghdr* cm = CMSG_FIRSTHDR(&h); cm != nullptr;
             cm = CMSG_NXTHDR(const_cast<msghdr*>(&h), const_cast<cmsghdr*>(cm))) {
          if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
            int v;
            std::memcpy(&v, CMSG_DATA(cm), sizeof(v));
            if (v > 0 && static_cast<uint32_t>(v) < rmsgs_[i].msg_len) seg = static_cast<uint32_t>(v);
          }
        }
      }
      segments[first + i] = seg;
    }
    return Napi::Number::New(env, r);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    fd_.Reset();
    return info.Env().Undefined();
  }

  // { address, port, sndbuf, rcvbuf (as granted at open), gso, gsoReason,
  //   gsoUsed, gro, groReason, refused, closed }: no system call.
  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("address", local_address_);
    o.Set("port", local_port_);
    o.Set("sndbuf", sndbuf_);
    o.Set("rcvbuf", rcvbuf_);
    o.Set("gso", gso_);
    o.Set("gsoReason", gso_reason_);
    o.Set("gsoUsed", gso_used_);
    o.Set("gro", gro_);
    o.Set("groReason", gro_reason_);
    o.Set("refused", refused_);
    o.Set("closed", fd_.Get() < 0);
    return o;
  }

  UniqueFd fd_;
  int family_ = AF_INET;
  int send_timeout_ms_ = 5000;
  std::string local_address_;
  int local_port_ = 0;
  int sndbuf_ = -1;
  int rcvbuf_ = -1;
  bool gso_ = false;
  bool gso_used_ = false;
  std::string gso_reason_;
  bool gro_ = false;
  std::string gro_reason_;
  double refused_ = 0;
  // Reused from call to call: no allocation once warm.
  std::vector<iovec> iovs_;
  std::vector<mmsghdr> msgs_;
  std::vector<size_t> firsts_;
  std::vector<GsoControl> gso_ctrl_;
  std::vector<iovec> riovs_;
  std::vector<mmsghdr> rmsgs_;
  std::vector<GroControl> gro_ctrl_;
};

// udpProbe() -> { batch: true, gso, gro, reason }: what this kernel offers,
// by setting the options on a throwaway socket.
Napi::Value UdpProbe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("batch", true);
  UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP));
  if (fd.Get() < 0) {
    o.Set("batch", false);
    o.Set("gso", false);
    o.Set("gro", false);
    o.Set("reason", std::string("socket: ") + std::strerror(errno));
    return o;
  }
  int zero = 0;
  bool gso = setsockopt(fd.Get(), SOL_UDP, UDP_SEGMENT, &zero, sizeof(zero)) == 0;
  std::string reason = gso ? "" : std::string("UDP_SEGMENT unsupported: ") + std::strerror(errno);
  bool gro = setsockopt(fd.Get(), SOL_UDP, UDP_GRO, &zero, sizeof(zero)) == 0;
  if (!gro) reason += std::string(reason.empty() ? "" : "; ") + "UDP_GRO unsupported: " + std::strerror(errno);
  o.Set("gso", gso);
  o.Set("gro", gro);
  o.Set("reason", reason);
  return o;
}

}  // namespace

void InitUdp(Napi::Env env, Napi::Object exports) {
  exports.Set("UdpSocket", UdpSocket::Define(env));
  exports.Set("udpProbe", Napi::Function::New(env, UdpProbe, "udpProbe"));
}

}  // namespace diodesync

#else  // !__linux__

namespace diodesync {
namespace {

Napi::Value UdpProbe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("batch", false);
  o.Set("gso", false);
  o.Set("gro", false);
  o.Set("reason", "batched UDP (sendmmsg, recvmmsg) is Linux-only");
  return o;
}

}  // namespace

void InitUdp(Napi::Env env, Napi::Object exports) {
  exports.Set("udpProbe", Napi::Function::New(env, UdpProbe, "udpProbe"));
}

}  // namespace diodesync

#endif  // __linux__
