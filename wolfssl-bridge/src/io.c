#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "events.h"
#include "options.h"

int udp_socket(const struct sockaddr_in *addr, const char *what) {
  char msg[160], a[64];
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0 || bind(fd, (const struct sockaddr *)addr, sizeof *addr) != 0) {
    snprintf(msg, sizeof msg, "cannot bind the %s socket to %s: %s", what, format_addr(addr, a, sizeof a), strerror(errno));
    ev_error("startup", msg);
    if (fd >= 0) close(fd);
    return -1;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  int size = 1 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  return fd;
}

struct sockaddr_in bound_address(int fd) {
  struct sockaddr_in a;
  socklen_t n = sizeof a;
  memset(&a, 0, sizeof a);
  getsockname(fd, (struct sockaddr *)&a, &n);
  return a;
}

static int on_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx) {
  (void)ssl;
  datagram_io *io = ctx;
  if (io->connected) {
    ssize_t n = recv(io->fd, buf, (size_t)sz, 0);
    if (n >= 0) return (int)n;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return WOLFSSL_CBIO_ERR_WANT_READ;
    if (errno == ECONNREFUSED) return WOLFSSL_CBIO_ERR_WANT_READ; /* ICMP from a peer not yet there: keep retrying */
    return WOLFSSL_CBIO_ERR_GENERAL;
  }
  if (!io->pending) return WOLFSSL_CBIO_ERR_WANT_READ;
  size_t n = io->pending_len < (size_t)sz ? io->pending_len : (size_t)sz;
  memcpy(buf, io->pending, n);
  io->pending = NULL;
  return (int)n;
}

static int on_send(WOLFSSL *ssl, char *buf, int sz, void *ctx) {
  (void)ssl;
  datagram_io *io = ctx;
  ssize_t n = io->connected ? send(io->fd, buf, (size_t)sz, 0) : sendto(io->fd, buf, (size_t)sz, 0, (struct sockaddr *)&io->to, sizeof io->to);
  if (n >= 0) return (int)n;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return WOLFSSL_CBIO_ERR_WANT_WRITE;
  /* A refused or unreachable peer: DTLS treats the datagram as lost (RFC 9147 §5.8 retransmits). */
  return sz;
}

void attach_io(WOLFSSL_CTX *ctx) {
  wolfSSL_CTX_SetIORecv(ctx, on_recv);
  wolfSSL_CTX_SetIOSend(ctx, on_send);
}

void set_io(WOLFSSL *ssl, datagram_io *io) {
  wolfSSL_SetIOReadCtx(ssl, io);
  wolfSSL_SetIOWriteCtx(ssl, io);
  wolfSSL_dtls_set_using_nonblock(ssl, 1);
}

int looks_like_dtls(const unsigned char *d, size_t len) {
  if (len < 2 || len > MAX_RECORD_DATAGRAM) return 0;
  if ((d[0] & 0xe0) == 0x20) return 1; /* RFC 9147 §4: 001CSLEE */
  return len >= 13 && d[0] >= 20 && d[0] <= 25 && d[1] == 0xfe;
}

long unified_header_cid(const unsigned char *d, size_t len, size_t cid_len) {
  if (len < 1 + cid_len || (d[0] & 0xe0) != 0x20 || !(d[0] & 0x10)) return -1;
  long cid = 0;
  for (size_t i = 0; i < cid_len; i++) cid = (cid << 8) | d[1 + i];
  return cid;
}
