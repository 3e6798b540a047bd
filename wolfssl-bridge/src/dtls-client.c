/*
 * Client mode: one DTLS 1.3 association at a time to --connect, plaintext (no header) to and
 * from one loopback peer. `reconnect` resumes with the last session ticket and may carry 0-RTT
 * early data in the first flight (RFC 8446 §4.2.10, RFC 9147 §5).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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
#include "tls-context.h"

static const bridge_options *opts;
static WOLFSSL_CTX *ctx;
static WOLFSSL_SESSION *session;
static int plain_fd;
static struct sockaddr_in plain_peer;
static int have_plain_peer;
static int64_t started_at;
static volatile sig_atomic_t stopping;
static long hs_ok, hs_failed, plain_dropped;

static struct {
  unsigned id;
  WOLFSSL *ssl;
  datagram_io io;
  int established, failed;
  int64_t started, next_timer;
  long dgrams_in, dgrams_out, bytes_in, bytes_out;
  unsigned char early[MAX_CONTROL_LINE_BYTES / 2];
  size_t early_len;
  long early_sent;
  int early_offered;
} conn;

static void on_signal(int sig) {
  (void)sig;
  stopping = 1;
}

void fcntl_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

static const char *addr_text(const struct sockaddr_in *a) {
  static char buf[2][64];
  static int i;
  i = (i + 1) % 2;
  return format_addr(a, buf[i], sizeof buf[i]);
}

static handshake_facts facts(void) {
  struct sockaddr_in local = bound_address(conn.io.fd);
  handshake_facts f = {.peer_id = conn.id, .remote = addr_text(&opts->connect), .local = addr_text(&local),
                       .duration_ms = now_ms() - conn.started, .server = 0, .early_bytes = conn.early_sent, .early_offered = conn.early_offered};
  return f;
}

static void drop_connection(const char *how) {
  if (!conn.ssl) return;
  if (conn.established) {
    keep_client_session(conn.ssl, &session);
    if (how) wolfSSL_shutdown(conn.ssl);
    ev_begin("closed");
    ev_str("scope", "peer");
    ev_int("peerId", conn.id);
    ev_str("remote", addr_text(&opts->connect));
    ev_str("how", how ? how : "peer-closed");
    ev_int("datagramsIn", conn.dgrams_in);
    ev_int("datagramsOut", conn.dgrams_out);
    ev_int("bytesIn", conn.bytes_in);
    ev_int("bytesOut", conn.bytes_out);
    ev_end();
  }
  wolfSSL_free(conn.ssl);
  close(conn.io.fd);
  conn.ssl = NULL;
}

static int open_connection(const unsigned char *early, size_t early_len) {
  static unsigned next_id = 1;
  struct sockaddr_in local = opts->local;
  if (!opts->have_local) {
    memset(&local, 0, sizeof local);
    local.sin_family = AF_INET;
  }
  memset(&conn, 0, sizeof conn);
  conn.id = next_id++;
  conn.started = now_ms();
  int fd = udp_socket(&local, "DTLS (--local)");
  if (fd < 0) return -1;
  if (connect(fd, (const struct sockaddr *)&opts->connect, sizeof opts->connect) != 0) {
    ev_error("startup", "cannot connect the UDP socket to --connect");
    close(fd);
    return -1;
  }
  conn.io.fd = fd;
  conn.io.connected = 1;
  conn.io.to = opts->connect;
  conn.ssl = wolfSSL_new(ctx);
  if (!conn.ssl || configure_connection(conn.ssl, opts, 0) != 0) {
    ev_error("startup", "cannot set up the connection (server name or options refused by wolfSSL)");
    return -1;
  }
  set_io(conn.ssl, &conn.io);
  if (session && opts->session_store) wolfSSL_set_session(conn.ssl, session);
  if (early_len && opts->early_data && session) {
    memcpy(conn.early, early, early_len);
    conn.early_len = early_len;
    conn.early_offered = 1;
  }
  return 0;
}

static void deliver_to_plain(const unsigned char *d, int n) {
  conn.dgrams_in++;
  conn.bytes_in += n;
  if (!have_plain_peer) {
    plain_dropped++;
    return;
  }
  sendto(plain_fd, d, (size_t)n, 0, (const struct sockaddr *)&plain_peer, sizeof plain_peer);
}

static void drive(void) {
  unsigned char buf[MAX_RECORD_DATAGRAM];
  if (!conn.ssl || conn.failed) return;
  if (!conn.established) {
    if (conn.early_len) {
      /* 0-RTT: the ClientHello goes out, then the early data under the early traffic key. */
      int written = 0;
      int ret = wolfSSL_write_early_data(conn.ssl, conn.early, (int)conn.early_len, &written);
      if (written > 0) {
        conn.early_sent += written;
        conn.early_len = 0;
      } else if (ret < 0) {
        int err = wolfSSL_get_error(conn.ssl, ret);
        if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) return;
        conn.early_len = 0; /* refused locally (e.g. no ticket allows early data): a plain resumption */
      } else {
        conn.early_len = 0;
      }
    }
    int ret = wolfSSL_connect(conn.ssl);
    if (ret != WOLFSSL_SUCCESS) {
      int err = wolfSSL_get_error(conn.ssl, ret);
      if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) return;
      handshake_facts f = facts();
      report_failure(conn.ssl, &f, err);
      hs_failed++;
      conn.failed = 1;
      return;
    }
    conn.established = 1;
    hs_ok++;
    handshake_facts f = facts();
    report_handshake(conn.ssl, &f);
  }
  for (;;) {
    int n = wolfSSL_read(conn.ssl, buf, sizeof buf);
    if (n > 0) {
      deliver_to_plain(buf, n);
      continue;
    }
    int err = wolfSSL_get_error(conn.ssl, n);
    if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) return;
    drop_connection(err == WOLFSSL_ERROR_ZERO_RETURN ? NULL : "error");
    return;
  }
}

static void on_plain(void) {
  unsigned char d[MAX_RECORD_DATAGRAM];
  struct sockaddr_in from;
  socklen_t fl = sizeof from;
  for (int budget = 0; budget < 256; budget++) {
    ssize_t n = recvfrom(plain_fd, d, sizeof d, 0, (struct sockaddr *)&from, &fl);
    if (n < 0) return;
    if (opts->have_plain_peer && (from.sin_port != opts->plain_peer.sin_port || from.sin_addr.s_addr != opts->plain_peer.sin_addr.s_addr)) {
      plain_dropped++;
      continue;
    }
    if (!opts->have_plain_peer) {
      plain_peer = from;
      have_plain_peer = 1;
    }
    if (!conn.ssl || !conn.established || n > 16384 || wolfSSL_write(conn.ssl, d, (int)n) <= 0) {
      plain_dropped++;
      continue;
    }
    conn.dgrams_out++;
    conn.bytes_out += n;
  }
}

static void emit_stats(void) {
  char list[512] = "[]";
  if (conn.ssl && conn.established)
    snprintf(list, sizeof list, "[{\"peerId\":%u,\"remote\":\"%s\",\"datagramsIn\":%ld,\"datagramsOut\":%ld,\"bytesIn\":%ld,\"bytesOut\":%ld}]",
             conn.id, addr_text(&opts->connect), conn.dgrams_in, conn.dgrams_out, conn.bytes_in, conn.bytes_out);
  ev_begin("stats");
  ev_str("mode", "client");
  ev_raw("peers", list);
  ev_int("handshakesOk", hs_ok);
  ev_int("handshakesFailed", hs_failed);
  ev_int("plainDropped", plain_dropped);
  ev_int("recordsDropped", 0);
  ev_int("sessionsStored", session ? 1 : 0);
  ev_int("uptimeMs", now_ms() - started_at);
  ev_end();
}

static void on_control(const control_command *c, void *unused) {
  (void)unused;
  if (strcmp(c->cmd, "stats") == 0) emit_stats();
  else if (strcmp(c->cmd, "shutdown") == 0) stopping = 1;
  else if (strcmp(c->cmd, "reconnect") == 0 || strcmp(c->cmd, "close") == 0) {
    drop_connection("local");
    if (strcmp(c->cmd, "reconnect") == 0 && open_connection(c->early, c->has_early ? c->early_len : 0) == 0) drive();
  } else {
    char msg[96];
    snprintf(msg, sizeof msg, "unknown cmd \"%s\" for a client (stats, reconnect, close, shutdown)", c->cmd);
    ev_error("control", msg);
  }
}

static void run_timer(void) {
  if (!conn.ssl || conn.established || conn.failed) return;
  int64_t now = now_ms();
  if (now - conn.started >= opts->handshake_timeout_ms) {
    handshake_facts f = facts();
    report_failure(conn.ssl, &f, 0);
    hs_failed++;
    conn.failed = 1;
    return;
  }
  if (!conn.next_timer) conn.next_timer = now + 1000LL * wolfSSL_dtls_get_current_timeout(conn.ssl);
  if (now >= conn.next_timer) {
    conn.next_timer = 0;
    wolfSSL_dtls_got_timeout(conn.ssl); /* retransmit the last flight, RFC 9147 §5.8 */
  }
}

int run_client(const bridge_options *o) {
  opts = o;
  started_at = now_ms();
  ctx = make_context(o, 0, 0);
  if (!ctx) return 1;
  attach_io(ctx);
  if ((plain_fd = udp_socket(&o->plain, "plaintext (--plain)")) < 0) return 1;
  if (o->have_plain_peer) {
    plain_peer = o->plain_peer;
    have_plain_peer = 1;
  }
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  signal(SIGPIPE, SIG_IGN);
  struct sockaddr_in plain_addr = bound_address(plain_fd);
  ev_begin("listening");
  ev_str("mode", "client");
  ev_str("plain", addr_text(&plain_addr));
  ev_str("connect", addr_text(&o->connect));
  ev_str("implementation", "wolfSSL " LIBWOLFSSL_VERSION_STRING);
  ev_end();
  if (open_connection(NULL, 0) == 0) drive();
  int stdin_open = 1;
  fcntl_nonblock(0);
  while (!stopping) {
    int established = conn.ssl && conn.established;
    struct pollfd fds[3] = {{conn.ssl ? conn.io.fd : -1, POLLIN, 0}, {established ? plain_fd : -1, POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}};
    poll(fds, 3, 50);
    if (fds[0].revents & (POLLIN | POLLERR)) {
      conn.next_timer = 0;
      drive();
    }
    if (fds[1].revents & POLLIN) on_plain();
    if (fds[2].revents & (POLLIN | POLLHUP)) {
      if (control_poll(0, on_control, NULL) < 0) stdin_open = 0;
    }
    run_timer();
  }
  drop_connection("local");
  ev_bridge_closed("client", hs_ok, hs_failed);
  wolfSSL_CTX_free(ctx);
  return 0;
}
