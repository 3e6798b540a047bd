#include "tcp-stream.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "events.h"
#include "io.h"
#include "options.h"

int tcp_listen(const struct sockaddr_in *addr, const char *what) {
  char msg[160], a[64];
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || bind(fd, (const struct sockaddr *)addr, sizeof *addr) != 0 || listen(fd, 128) != 0) {
    snprintf(msg, sizeof msg, "cannot listen with the %s socket on %s: %s", what, format_addr(addr, a, sizeof a), strerror(errno));
    ev_error("startup", msg);
    if (fd >= 0) close(fd);
    return -1;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

int tcp_connect(const struct sockaddr_in *addr, int timeout_ms) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (const struct sockaddr *)addr, sizeof *addr) != 0) {
    struct pollfd p = {fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (errno != EINPROGRESS) err = errno;
    else if (poll(&p, 1, timeout_ms) != 1) err = ETIMEDOUT;
    else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) {
      close(fd);
      errno = err;
      return -1;
    }
  }
  return fd;
}

int send_all(int fd, const unsigned char *d, size_t n, int timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  while (n > 0) {
    ssize_t w = send(fd, d, n, MSG_NOSIGNAL);
    if (w > 0) {
      d += w;
      n -= (size_t)w;
      continue;
    }
    if (w < 0 && errno != EAGAIN && errno != EINTR) return -1;
    int left = (int)(deadline - now_ms());
    struct pollfd p = {fd, POLLOUT, 0};
    if (left <= 0 || poll(&p, 1, left) < 0) return -1;
  }
  return 0;
}

static int tcp_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx) {
  (void)ssl;
  ssize_t n = recv(((datagram_io *)ctx)->fd, buf, (size_t)sz, 0);
  if (n > 0) return (int)n;
  if (n == 0) return WOLFSSL_CBIO_ERR_CONN_CLOSE;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return WOLFSSL_CBIO_ERR_WANT_READ;
  return errno == ECONNRESET ? WOLFSSL_CBIO_ERR_CONN_RST : WOLFSSL_CBIO_ERR_GENERAL;
}

static int tcp_send(WOLFSSL *ssl, char *buf, int sz, void *ctx) {
  (void)ssl;
  ssize_t n = send(((datagram_io *)ctx)->fd, buf, (size_t)sz, MSG_NOSIGNAL);
  if (n >= 0) return (int)n;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return WOLFSSL_CBIO_ERR_WANT_WRITE;
  return errno == EPIPE || errno == ECONNRESET ? WOLFSSL_CBIO_ERR_CONN_CLOSE : WOLFSSL_CBIO_ERR_GENERAL;
}

void attach_tcp_io(WOLFSSL_CTX *ctx) {
  wolfSSL_CTX_SetIORecv(ctx, tcp_recv);
  wolfSSL_CTX_SetIOSend(ctx, tcp_send);
}
