// The bench's UDP peer, in C so that its own cost stays out of the figures of the side measured.
//   udp-tool drain [RECORD_FILE [OFFSET VALUE]]
//                                 bind 127.0.0.1:0, print "port N", take datagrams with recvmmsg
//                                 and count them (and append each, as u16 length + bytes, to
//                                 RECORD_FILE, "-" for none) until SIGTERM; then print one JSON
//                                 line. With OFFSET VALUE, "dataSeconds" runs from the first
//                                 datagram whose byte at OFFSET is VALUE (the first data frame).
//   udp-tool replay FILE PORT     send every recorded datagram to 127.0.0.1:PORT with sendmmsg,
//                                 as fast as the kernel takes them, each one separately (no GSO).
// Built by bench/lib/udp-tool.mjs with `cc -O2` at bench time; nothing of it is committed built.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define SLOT 65536

static volatile sig_atomic_t stopping = 0;
static void on_stop(int sig) { (void)sig; stopping = 1; }

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void print_usage_json(const char *head, unsigned long long datagrams, unsigned long long bytes, double seconds) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  printf("{%s\"datagrams\":%llu,\"bytes\":%llu,\"seconds\":%.6f,\"cpuSeconds\":%.6f,\"maxRssKB\":%ld}\n", head, datagrams, bytes, seconds, cpu, ru.ru_maxrss);
  fflush(stdout);
}

static int drain(const char *record, int type_offset, int type_value) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) { perror("socket"); return 1; }
  int size = 64 << 20;
  // As root, SO_RCVBUFFORCE passes net.core.rmem_max; elsewhere the plain option gets what it can.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  struct timeval tv = { 0, 100000 };  // wake up to see SIGTERM
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0 };
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) { perror("bind"); return 1; }
  socklen_t len = sizeof addr;
  getsockname(fd, (struct sockaddr *)&addr, &len);
  FILE *out = NULL;
  if (record && strcmp(record, "-") != 0 && !(out = fopen(record, "wb"))) { perror(record); return 1; }
  if (out) setvbuf(out, NULL, _IOFBF, 4 << 20);
  printf("port %d\n", ntohs(addr.sin_port));
  fflush(stdout);

  static char bufs[BATCH][SLOT];
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = SLOT;
    memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  unsigned long long datagrams = 0, bytes = 0;
  double first = 0, last = 0, first_data = 0;
  while (!stopping) {
    int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      perror("recvmmsg");
      return 1;
    }
    last = now_s();
    if (!first) first = last;
    for (int i = 0; i < n; i++) {
      unsigned int got = msgs[i].msg_len;
      bytes += got;
      if (!first_data && type_offset >= 0 && got > (unsigned)type_offset && (unsigned char)bufs[i][type_offset] == type_value) first_data = last;
      if (out) {
        unsigned char head[2] = { got >> 8, got & 0xff };
        if (fwrite(head, 1, 2, out) != 2 || fwrite(bufs[i], 1, got, out) != got) { perror("record"); return 1; }
      }
    }
    datagrams += n;
  }
  if (out && fclose(out) != 0) { perror("record"); return 1; }
  char head[64];
  snprintf(head, sizeof head, "\"mode\":\"drain\",\"dataSeconds\":%.6f,", first_data ? last - first_data : 0);
  print_usage_json(head, datagrams, bytes, first ? last - first : 0);
  return 0;
}

static int replay(const char *file, int port) {
  int in = open(file, O_RDONLY);
  if (in < 0) { perror(file); return 1; }
  struct stat st;
  fstat(in, &st);
  const unsigned char *data = st.st_size ? mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, in, 0) : NULL;
  if (st.st_size && data == MAP_FAILED) { perror("mmap"); return 1; }
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int size = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = htons(port) };
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) { perror("connect"); return 1; }
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  memset(msgs, 0, sizeof msgs);
  unsigned long long datagrams = 0, bytes = 0;
  off_t at = 0;
  double t0 = now_s();
  while (at + 2 <= st.st_size) {
    int n = 0;
    while (n < BATCH && at + 2 <= st.st_size) {
      unsigned int len = (data[at] << 8) | data[at + 1];
      if (at + 2 + len > st.st_size) break;
      iov[n].iov_base = (void *)(data + at + 2);
      iov[n].iov_len = len;
      msgs[n].msg_hdr.msg_iov = &iov[n];
      msgs[n].msg_hdr.msg_iovlen = 1;
      at += 2 + len;
      n++;
    }
    if (n == 0) break;
    for (int done = 0; done < n;) {
      int sent = sendmmsg(fd, msgs + done, n - done, 0);
      if (sent < 0) {
        // A refused port (ICMP) or a full queue: the datagram is gone either way, as on a diode.
        if (errno == ECONNREFUSED || errno == ENOBUFS || errno == EAGAIN) { done++; continue; }
        perror("sendmmsg");
        return 1;
      }
      for (int i = 0; i < sent; i++) bytes += msgs[done + i].msg_len;
      datagrams += sent;
      done += sent;
    }
  }
  print_usage_json("\"mode\":\"replay\",", datagrams, bytes, now_s() - t0);
  return 0;
}

int main(int argc, char **argv) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop;  // no SA_RESTART: recvmmsg returns EINTR and the loop ends
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  if (argc >= 2 && strcmp(argv[1], "drain") == 0) return drain(argc >= 3 ? argv[2] : NULL, argc >= 5 ? atoi(argv[3]) : -1, argc >= 5 ? atoi(argv[4]) : -1);
  if (argc >= 4 && strcmp(argv[1], "replay") == 0) return replay(argv[2], atoi(argv[3]));
  fprintf(stderr, "usage: udp-tool drain [RECORD_FILE|- [OFFSET VALUE]] | udp-tool replay FILE PORT\n");
  return 1;
}
