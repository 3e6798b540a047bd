/*
 * tls-server mode: a wolfSSL-terminated front of a TCP service (the broker's plain MQTT
 * listener). TLS 1.3 over TCP with mutual TLS, session tickets and 0-RTT early data
 * (RFC 8446 §4.2.10); each connection's decrypted byte stream goes to its own TCP connection to
 * --upstream, and what the upstream answers goes back inside TLS.
 *
 * Early data is forwarded the moment it decrypts, before the client's Finished: that is what
 * 0-RTT means, and why a replayed first flight reaches the upstream unless the ticket is
 * single-use (RFC 8446 §8, tls-context.c's ticket callback).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control.h"
#include "events.h"
#include "handshake-report.h"
#include "io.h"
#include "modes.h"
#include "tcp-stream.h"
#include "tls-context.h"

typedef struct {
  int in_use, established, early_phase;
  unsigned id;
  WOLFSSL *ssl;
  datagram_io io; /* fd = the accepted TCP socket, connected = 1: io.c's callbacks recv/send it */
  int up_fd;      /* the upstream connection, opened with the first plaintext byte; -1 before */
  int64_t started;
  long bytes_up, bytes_down, early_bytes;
  char remote[64];
} tls_conn;

static const bridge_options *opts;
static WOLFSSL_CTX *ctx;
static tls_conn *conns;
static int listen_fd;
static unsigned next_id = 1;
static long hs_ok, hs_failed, peers_refused, upstream_failed;
static int64_t started_at;
static volatile sig_atomic_t stopping;

static void on_signal(int sig) {
  (void)sig;
  stopping = 1;
}

static void emit_closed(tls_conn *c, const char *how, const char *error) {
  ev_begin("closed");
  ev_str("scope", "peer");
  ev_int("peerId", c->id);
  ev_str("remote", c->remote);
  ev_str("how", how);
  if (error) ev_str("error", error);
  ev_bool("established", c->established);
  ev_int("earlyDataBytes", c->early_bytes);
  ev_int("bytesUpstream", c->bytes_up);
  ev_int("bytesDownstream", c->bytes_down);
  ev_end();
}

static void release(tls_conn *c) {
  if (c->ssl) wolfSSL_free(c->ssl);
  if (c->io.fd > 0) close(c->io.fd);
  if (c->up_fd >= 0) close(c->up_fd);
  memset(c, 0, sizeof *c);
  c->up_fd = -1;
}

static void close_conn(tls_conn *c, const char *how, const char *error) {
  if (c->established && strcmp(how, "local") == 0) wolfSSL_shutdown(c->ssl); /* close_notify, RFC 8446 §6.1 */
  emit_closed(c, how, error);
  release(c);
}

static handshake_facts facts(tls_conn *c) {
  handshake_facts f = {.peer_id = c->id, .remote = c->remote, .local = NULL, .duration_ms = now_ms() - c->started,
                       .server = 1, .early_bytes = c->early_bytes, .early_offered = opts->early_data};
  return f;
}

static void fail(tls_conn *c, int err) {
  handshake_facts f = facts(c);
  report_failure(c->ssl, &f, err);
  hs_failed++;
  emit_closed(c, "handshake-failed", NULL);
  release(c);
}

/* Plaintext from the TLS side to the upstream, opening the upstream connection first. */
static int to_upstream(tls_conn *c, const unsigned char *d, int n) {
  if (c->up_fd < 0) {
    c->up_fd = tcp_connect(&opts->upstream, opts->handshake_timeout_ms);
    if (c->up_fd < 0) {
      char msg[160];
      upstream_failed++;
      snprintf(msg, sizeof msg, "cannot connect to --upstream: %s (is the broker's plain listener up?)", strerror(errno));
      ev_error("upstream", msg);
      return -1;
    }
  }
  if (send_all(c->up_fd, d, (size_t)n, opts->handshake_timeout_ms) != 0) return -1;
  c->bytes_up += n;
  return 0;
}

/* The handshake (with 0-RTT data first), then application data, as far as the socket allows. */
static void drive(tls_conn *c) {
  unsigned char buf[16384];
  while (c->early_phase && !c->established) {
    int got = 0;
    int ret = wolfSSL_read_early_data(c->ssl, buf, sizeof buf, &got);
    if (got > 0) {
      /* RFC 8446 §4.2.10: 0-RTT data, forwarded before the handshake completes and counted, so
       * the handshake event says what really arrived. */
      c->early_bytes += got;
      ev_begin("early-data");
      ev_int("peerId", c->id);
      ev_int("bytes", got);
      ev_end();
      if (to_upstream(c, buf, got) != 0) {
        close_conn(c, "upstream-failed", NULL);
        return;
      }
    }
    if (ret > 0) continue;
    int err = ret < 0 ? wolfSSL_get_error(c->ssl, ret) : 0;
    if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) return;
    c->early_phase = 0; /* no (more) early data: wolfSSL_accept finishes, reporting real failures */
  }
  if (!c->established) {
    int ret = wolfSSL_accept(c->ssl);
    if (ret != WOLFSSL_SUCCESS) {
      int err = wolfSSL_get_error(c->ssl, ret);
      if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) return;
      fail(c, err);
      return;
    }
    c->established = 1;
    hs_ok++;
    handshake_facts f = facts(c);
    report_handshake(c->ssl, &f);
  }
  for (;;) {
    int n = wolfSSL_read(c->ssl, buf, sizeof buf);
    if (n > 0) {
      if (to_upstream(c, buf, n) != 0) {
        close_conn(c, "upstream-failed", NULL);
        return;
      }
      continue;
    }
    int err = wolfSSL_get_error(c->ssl, n);
    if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) return;
    if (err == WOLFSSL_ERROR_ZERO_RETURN || err == SOCKET_PEER_CLOSED_E) {
      close_conn(c, "peer-closed", NULL);
    } else {
      char text[WOLFSSL_MAX_ERROR_SZ];
      wolfSSL_ERR_error_string_n((unsigned long)err, text, sizeof text);
      close_conn(c, "error", text);
    }
    return;
  }
}

/* What the upstream answers goes back inside TLS (only once the handshake is done). */
static void from_upstream(tls_conn *c) {
  unsigned char buf[16384];
  ssize_t n = recv(c->up_fd, buf, sizeof buf, 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    close_conn(c, "local", n == 0 ? NULL : strerror(errno));
    return;
  }
  if (wolfSSL_write(c->ssl, buf, (int)n) != n) {
    close_conn(c, "error", "cannot write to the TLS peer");
    return;
  }
  c->bytes_down += n;
}

static void on_accept(void) {
  for (int budget = 0; budget < 64; budget++) {
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    int fd = accept(listen_fd, (struct sockaddr *)&from, &fl);
    if (fd < 0) return;
    tls_conn *slot = NULL;
    for (int i = 0; i < opts->max_peers && !slot; i++)
      if (!conns[i].in_use) slot = &conns[i];
    WOLFSSL *ssl = slot ? wolfSSL_new(ctx) : NULL;
    if (!ssl) { /* --max-peers bounds what a connection flood can hold */
      peers_refused++;
      close(fd);
      continue;
    }
    fcntl_nonblock(fd);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    slot->in_use = 1;
    slot->ssl = ssl;
    slot->id = next_id++;
    slot->io.fd = fd;
    slot->io.connected = 1;
    slot->up_fd = -1;
    slot->started = now_ms();
    slot->early_phase = opts->early_data;
    format_addr(&from, slot->remote, sizeof slot->remote);
    wolfSSL_SetIOReadCtx(ssl, &slot->io);
    wolfSSL_SetIOWriteCtx(ssl, &slot->io);
    if (configure_connection(ssl, opts, 1) != 0) {
      release(slot);
      continue;
    }
  }
}

static void emit_stats(void) {
  int open = 0, handshaking = 0;
  for (int i = 0; i < opts->max_peers; i++) {
    if (!conns[i].in_use) continue;
    if (conns[i].established) open++;
    else handshaking++;
  }
  ev_begin("stats");
  ev_str("mode", "tls-server");
  ev_int("connections", open);
  ev_int("handshaking", handshaking);
  ev_int("handshakesOk", hs_ok);
  ev_int("handshakesFailed", hs_failed);
  ev_int("peersRefused", peers_refused);
  ev_int("upstreamFailed", upstream_failed);
  ev_int("ticketsRefused", tickets_refused());
  ev_int("uptimeMs", now_ms() - started_at);
  ev_end();
}

static void on_control(const control_command *cmd, void *unused) {
  (void)unused;
  if (strcmp(cmd->cmd, "stats") == 0) emit_stats();
  else if (strcmp(cmd->cmd, "shutdown") == 0) stopping = 1;
  else {
    char msg[96];
    snprintf(msg, sizeof msg, "unknown cmd \"%s\" for a tls-server (stats, shutdown)", cmd->cmd);
    ev_error("control", msg);
  }
}

static int check_options(const bridge_options *o) {
  const char *missing = !o->have_listen ? "tls-server needs --listen ADDR (the TLS side)"
                        : !o->have_upstream ? "tls-server needs --upstream ADDR (the TCP service the plaintext goes to, e.g. the broker's plain MQTT listener)"
                        : !o->cert ? "tls-server needs --cert and --key"
                        : strcmp(o->client_auth, "none") && !o->ca ? "--client-auth request|require needs --ca (the issuers of client certificates)"
                        : NULL;
  if (missing) fprintf(stderr, "wolfssl-bridge: %s (see wolfssl-bridge/README.md)\n", missing);
  return missing ? -1 : 0;
}

int run_tls_server(const bridge_options *o) {
  if (check_options(o) != 0) return 2;
  opts = o;
  started_at = now_ms();
  ctx = make_context(o, 1, 1);
  if (!ctx) return 1;
  attach_tcp_io(ctx);
  conns = calloc((size_t)o->max_peers, sizeof *conns);
  struct pollfd *fds = calloc((size_t)o->max_peers * 2 + 2, sizeof *fds);
  if (!conns || !fds) return 1;
  for (int i = 0; i < o->max_peers; i++) conns[i].up_fd = -1;
  if ((listen_fd = tcp_listen(&o->listen, "TLS (--listen)")) < 0) return 1;
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  signal(SIGPIPE, SIG_IGN);
  char a[64], u[64];
  struct sockaddr_in bound = bound_address(listen_fd);
  ev_begin("listening");
  ev_str("mode", "tls-server");
  ev_str("tls", format_addr(&bound, a, sizeof a));
  ev_str("upstream", format_addr(&o->upstream, u, sizeof u));
  ev_str("implementation", "wolfSSL " LIBWOLFSSL_VERSION_STRING);
  ev_end();
  int stdin_open = 1;
  fcntl_nonblock(0);
  while (!stopping) {
    int n = 0;
    fds[n++] = (struct pollfd){listen_fd, POLLIN, 0};
    fds[n++] = (struct pollfd){stdin_open ? 0 : -1, POLLIN, 0};
    for (int i = 0; i < o->max_peers; i++) {
      tls_conn *c = &conns[i];
      fds[n++] = (struct pollfd){c->in_use ? c->io.fd : -1, POLLIN, 0};
      /* With early data wolfSSL_accept returns once the server's Finished is out; the broker's
       * answer waits for the client's Finished: no 0.5-RTT data (RFC 8446 §4.4.4), whose peer is
       * not yet authenticated by its certificate then. */
      int complete = c->in_use && c->established && wolfSSL_is_init_finished(c->ssl);
      fds[n++] = (struct pollfd){complete && c->up_fd >= 0 ? c->up_fd : -1, POLLIN, 0};
    }
    poll(fds, (nfds_t)n, 50);
    if (fds[0].revents & POLLIN) on_accept();
    if (fds[1].revents & (POLLIN | POLLHUP) && control_poll(0, on_control, NULL) < 0) stdin_open = 0;
    int64_t now = now_ms();
    for (int i = 0; i < o->max_peers; i++) {
      tls_conn *c = &conns[i];
      if (!c->in_use) continue;
      if (fds[2 + 2 * i].revents & (POLLIN | POLLHUP | POLLERR)) drive(c);
      if (c->in_use && fds[3 + 2 * i].revents & (POLLIN | POLLHUP | POLLERR)) from_upstream(c);
      /* A handshake that never finishes (garbage, a replayed first flight with no Finished to
       * follow) is bounded by --handshake-timeout. */
      if (c->in_use && !c->established && now - c->started >= o->handshake_timeout_ms) fail(c, 0);
    }
  }
  for (int i = 0; i < o->max_peers; i++)
    if (conns[i].in_use) close_conn(&conns[i], "local", NULL);
  ev_bridge_closed("tls-server", hs_ok, hs_failed);
  wolfSSL_CTX_free(ctx);
  return 0;
}
