/*
 * Bench mode: a wolfSSL DTLS 1.3 server and client in this one process over loopback UDP, no
 * plaintext relay: the wolfSSL-to-wolfSSL baseline of bench/dtls13.ts. Prints one line
 * {"event":"bench","handshakesPerSec":…,"datagramsPerSec":…,"cipherSuite":…}.
 */
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "events.h"
#include "io.h"
#include "modes.h"
#include "tls-context.h"

typedef struct {
  WOLFSSL *ssl;
  datagram_io io;
} end;

static int pair_sockets(int *a, int *b) {
  struct sockaddr_in any = {.sin_family = AF_INET};
  any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if ((*a = udp_socket(&any, "bench server")) < 0 || (*b = udp_socket(&any, "bench client")) < 0) return -1;
  struct sockaddr_in aa = bound_address(*a), ba = bound_address(*b);
  connect(*a, (struct sockaddr *)&ba, sizeof ba);
  connect(*b, (struct sockaddr *)&aa, sizeof aa);
  return 0;
}

static int setup(end *e, WOLFSSL_CTX *ctx, int fd, const bridge_options *o, int server) {
  e->ssl = wolfSSL_new(ctx);
  e->io.fd = fd;
  e->io.connected = 1;
  if (!e->ssl || configure_connection(e->ssl, o, server)) return -1;
  set_io(e->ssl, &e->io);
  return 0;
}

static int wants(WOLFSSL *ssl, int ret) {
  int err = wolfSSL_get_error(ssl, ret);
  return err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE;
}

/* One handshake; 0 on success. Bounded by the handshake timeout. */
static int handshake(end *s, end *c, int timeout_ms) {
  int s_done = 0, c_done = 0;
  int64_t deadline = now_ms() + timeout_ms;
  while (!(s_done && c_done)) {
    if (now_ms() > deadline) return -1;
    if (!c_done) {
      int r = wolfSSL_connect(c->ssl);
      if (r == WOLFSSL_SUCCESS) c_done = 1;
      else if (!wants(c->ssl, r)) return -1;
    }
    if (!s_done) {
      int r = wolfSSL_accept(s->ssl);
      if (r == WOLFSSL_SUCCESS) s_done = 1;
      else if (!wants(s->ssl, r)) return -1;
    }
    if (!(s_done && c_done)) {
      struct pollfd p[2] = {{s->io.fd, POLLIN, 0}, {c->io.fd, POLLIN, 0}};
      if (poll(p, 2, 100) == 0) {
        wolfSSL_dtls_got_timeout(c->ssl);
        wolfSSL_dtls_got_timeout(s->ssl);
      }
    }
  }
  return 0;
}

/*
 * --connect ADDR --concurrent N: N clients in this process start their DTLS 1.3 handshakes with
 * one server (the bridge under test) at once; prints how long until all N completed. Bounded by
 * the handshake timeout.
 */
static int concurrent_handshakes(const bridge_options *o) {
  enum { MAX_CONCURRENT = 1000 };
  static end clients[MAX_CONCURRENT];
  static int done[MAX_CONCURRENT];
  int n = o->bench_concurrent;
  bridge_options co = *o;
  co.mode = MODE_CLIENT;
  WOLFSSL_CTX *cctx = make_context(&co, 0, 0);
  if (!cctx) return 1;
  attach_io(cctx);
  struct sockaddr_in any = {.sin_family = AF_INET};
  int64_t t0 = now_ms(), deadline = t0 + o->handshake_timeout_ms;
  for (int i = 0; i < n; i++) {
    int fd = udp_socket(&any, "bench client");
    if (fd < 0 || connect(fd, (const struct sockaddr *)&o->connect, sizeof o->connect) != 0 || setup(&clients[i], cctx, fd, &co, 0)) return 1;
  }
  int completed = 0, failed = 0;
  while (completed + failed < n && now_ms() < deadline) {
    for (int i = 0; i < n; i++) {
      if (done[i]) continue;
      int r = wolfSSL_connect(clients[i].ssl);
      if (r == WOLFSSL_SUCCESS) {
        done[i] = 1;
        completed++;
      } else if (!wants(clients[i].ssl, r)) {
        done[i] = -1;
        failed++;
      }
    }
    struct pollfd p = {clients[0].io.fd, POLLIN, 0};
    poll(&p, 1, 1);
  }
  ev_begin("bench-concurrent");
  ev_int("concurrent", n);
  ev_int("completed", completed);
  ev_int("failed", failed);
  ev_int("elapsedMs", now_ms() - t0);
  ev_end();
  for (int i = 0; i < n; i++) {
    if (clients[i].ssl) wolfSSL_free(clients[i].ssl);
    close(clients[i].io.fd);
  }
  return completed == n ? 0 : 1;
}

int run_bench(const bridge_options *o) {
  if (o->have_connect) return concurrent_handshakes(o);
  bridge_options so = *o, co = *o;
  so.mode = MODE_SERVER;
  so.client_auth = o->ca ? "require" : "none";
  co.mode = MODE_CLIENT;
  co.cert = o->client_cert;
  co.key = o->client_key;
  if (!o->cert || !o->ca || !o->server_name) {
    fprintf(stderr, "wolfssl-bridge: bench needs --cert S.pem --key S.key --ca ca.pem --server-name NAME [--client-cert C.pem --client-key C.key]\n");
    return 2;
  }
  WOLFSSL_CTX *sctx = make_context(&so, 1, 0);
  WOLFSSL_CTX *cctx = make_context(&co, 0, 0);
  if (!sctx || !cctx) return 1;
  if (!o->client_cert) wolfSSL_CTX_set_verify(sctx, WOLFSSL_VERIFY_NONE, NULL);
  attach_io(sctx);
  attach_io(cctx);
  char suite[64] = "";
  int64_t t0 = now_ms();
  for (int i = 0; i < o->bench_handshakes; i++) {
    int a, b;
    end s = {0}, c = {0};
    if (pair_sockets(&a, &b) || setup(&s, sctx, a, &so, 1) || setup(&c, cctx, b, &co, 0) || handshake(&s, &c, o->handshake_timeout_ms)) {
      fprintf(stderr, "wolfssl-bridge: bench handshake %d failed\n", i + 1);
      return 1;
    }
    snprintf(suite, sizeof suite, "%s", wolfSSL_CIPHER_get_name(wolfSSL_get_current_cipher(c.ssl)));
    wolfSSL_free(s.ssl);
    wolfSSL_free(c.ssl);
    close(a);
    close(b);
  }
  double hs_secs = (double)(now_ms() - t0) / 1000.0;
  /* Datagrams: the client sends a reading-sized payload, the server reads it; bounded by count. */
  int a, b;
  end s = {0}, c = {0};
  if (pair_sockets(&a, &b) || setup(&s, sctx, a, &so, 1) || setup(&c, cctx, b, &co, 0) || handshake(&s, &c, o->handshake_timeout_ms)) return 1;
  unsigned char payload[1200], in[2048];
  memset(payload, 0x5a, sizeof payload);
  long received = 0;
  int64_t t1 = now_ms(), deadline = t1 + 60000;
  for (int sent = 0; sent < o->bench_datagrams && now_ms() < deadline; sent++) {
    if (wolfSSL_write(c.ssl, payload, o->bench_payload) <= 0) break;
    while (wolfSSL_read(s.ssl, in, sizeof in) > 0) received++;
  }
  for (int spins = 0; spins < 100 && received < o->bench_datagrams; spins++) {
    struct pollfd p = {s.io.fd, POLLIN, 0};
    if (poll(&p, 1, 10) <= 0) break;
    while (wolfSSL_read(s.ssl, in, sizeof in) > 0) received++;
  }
  double dg_secs = (double)(now_ms() - t1) / 1000.0;
  char hs[32], dg[32];
  snprintf(hs, sizeof hs, "%.1f", o->bench_handshakes / (hs_secs > 0 ? hs_secs : 0.001));
  snprintf(dg, sizeof dg, "%.1f", received / (dg_secs > 0 ? dg_secs : 0.001));
  ev_begin("bench");
  ev_raw("handshakesPerSec", hs);
  ev_raw("datagramsPerSec", dg);
  ev_int("datagramsReceived", received);
  ev_str("cipherSuite", suite);
  ev_bool("mutualCertificate", o->client_cert != NULL);
  ev_str("version", "DTLS 1.3");
  ev_end();
  return 0;
}
