/*
 * tls-client mode: one TLS 1.3 connection over TCP at a time to --connect, steered by control
 * lines. {"cmd":"connect","earlyData":"HEX"} (or "reconnect") opens a connection (resuming when it
 * holds a ticket) and sends those bytes right after the handshake; {"cmd":"connect-0rtt",…} sends
 * them as 0-RTT early data in the first flight when the ticket allows it and the bridge runs with
 * --early-data (RFC 8446 §4.2.10), else, or when the server rejects the early data, after the
 * handshake as well. What the server sends back is reported
 * in "received" events (hex), so a role reads the MQTT CONNACK and PUBACK.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "events.h"
#include "handshake-report.h"
#include "io.h"
#include "modes.h"
#include "tcp-stream.h"
#include "tls-context.h"

static const bridge_options *opts;
static WOLFSSL_CTX *ctx;
static WOLFSSL_SESSION *session;
static volatile sig_atomic_t stopping;
static long hs_ok, hs_failed;
static int64_t started_at;

static struct {
  unsigned id;
  WOLFSSL *ssl;
  datagram_io io;
  int established;
  int64_t started;
  unsigned char payload[MAX_CONTROL_LINE_BYTES / 2];
  size_t payload_len;
  int early_offered;
  long early_sent, bytes_in, bytes_out;
} conn;

static void on_signal(int sig) {
  (void)sig;
  stopping = 1;
}

static handshake_facts facts(void) {
  char remote[64];
  static char local_text[64], remote_text[64];
  struct sockaddr_in local = bound_address(conn.io.fd);
  format_addr(&local, local_text, sizeof local_text);
  snprintf(remote_text, sizeof remote_text, "%s", format_addr(&opts->connect, remote, sizeof remote));
  handshake_facts f = {.peer_id = conn.id, .remote = remote_text, .local = local_text, .duration_ms = now_ms() - conn.started,
                       .server = 0, .early_bytes = conn.early_sent, .early_offered = conn.early_offered};
  return f;
}

static void drop_connection(const char *how) {
  if (!conn.ssl) return;
  if (conn.established) {
    keep_client_session(conn.ssl, &session);
    if (strcmp(how, "local") == 0) wolfSSL_shutdown(conn.ssl);
  }
  ev_begin("closed");
  ev_str("scope", "peer");
  ev_int("peerId", conn.id);
  ev_str("how", how);
  ev_bool("established", conn.established);
  ev_int("bytesIn", conn.bytes_in);
  ev_int("bytesOut", conn.bytes_out);
  ev_end();
  wolfSSL_free(conn.ssl);
  close(conn.io.fd);
  conn.ssl = NULL;
}

static void sent(int n, int early) {
  ev_begin("sent");
  ev_int("peerId", conn.id);
  ev_int("bytes", n);
  ev_bool("earlyData", early);
  ev_end();
}

static void open_connection(const unsigned char *payload, size_t len, int early) {
  static unsigned next_id = 1;
  memset(&conn, 0, sizeof conn);
  conn.id = next_id++;
  conn.started = now_ms();
  int fd = tcp_connect(&opts->connect, opts->handshake_timeout_ms);
  if (fd < 0) {
    ev_error("connect", "cannot open a TCP connection to --connect (is the server listening?)");
    return;
  }
  conn.io.fd = fd;
  conn.io.connected = 1;
  conn.ssl = wolfSSL_new(ctx);
  if (!conn.ssl || configure_connection(conn.ssl, opts, 0) != 0) {
    ev_error("startup", "cannot set up the connection (server name or options refused by wolfSSL)");
    if (conn.ssl) wolfSSL_free(conn.ssl);
    conn.ssl = NULL;
    close(fd);
    return;
  }
  wolfSSL_SetIOReadCtx(conn.ssl, &conn.io);
  wolfSSL_SetIOWriteCtx(conn.ssl, &conn.io);
  if (session) wolfSSL_set_session(conn.ssl, session);
  memcpy(conn.payload, payload, len);
  conn.payload_len = len;
  conn.early_offered = early && len > 0 && opts->early_data && session != NULL;
}

static void drive(void) {
  unsigned char buf[16384];
  if (!conn.ssl) return;
  if (!conn.established) {
    if (conn.early_offered && conn.early_sent == 0) {
      /* 0-RTT: the ClientHello, then the payload under the client early traffic key, in one flight. */
      int written = 0;
      int ret = wolfSSL_write_early_data(conn.ssl, conn.payload, (int)conn.payload_len, &written);
      if (written > 0) {
        conn.early_sent = written;
        sent(written, 1);
      } else if (ret < 0) {
        int err = wolfSSL_get_error(conn.ssl, ret);
        if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) return;
        conn.early_offered = 0; /* refused locally (the ticket allows no early data): send after the handshake */
      }
    }
    int ret = wolfSSL_connect(conn.ssl);
    if (ret != WOLFSSL_SUCCESS) {
      int err = wolfSSL_get_error(conn.ssl, ret);
      if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) return;
      handshake_facts f = facts();
      report_failure(conn.ssl, &f, err);
      hs_failed++;
      drop_connection("handshake-failed");
      return;
    }
    conn.established = 1;
    hs_ok++;
    handshake_facts f = facts();
    report_handshake(conn.ssl, &f);
    /* Not sent early, or the server rejected the early data (a refused ticket: a full handshake,
     * RFC 8446 §4.2.10): the payload goes now, under the application traffic key. */
    int early_accepted = conn.early_sent > 0 && wolfSSL_get_early_data_status(conn.ssl) == WOLFSSL_EARLY_DATA_ACCEPTED;
    if (conn.payload_len && !early_accepted) {
      int n = wolfSSL_write(conn.ssl, conn.payload, (int)conn.payload_len);
      if (n > 0) sent(n, 0);
    } else if (conn.early_sent > 0) {
      /* wolfSSL 5.5.4 leaves the client in its early-data state until the next wolfSSL_write, and
       * a wolfSSL_read in that state fails on the server's first record: an empty write ends it. */
      wolfSSL_write(conn.ssl, conn.payload, 0);
    }
    conn.bytes_out = (long)conn.payload_len;
  }
  for (;;) {
    int n = wolfSSL_read(conn.ssl, buf, sizeof buf);
    if (n > 0) {
      conn.bytes_in += n;
      ev_begin("received");
      ev_int("peerId", conn.id);
      ev_int("bytes", n);
      ev_hex("hex", buf, (size_t)(n < 256 ? n : 256));
      ev_end();
      continue;
    }
    int err = wolfSSL_get_error(conn.ssl, n);
    if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) return;
    if (err != WOLFSSL_ERROR_ZERO_RETURN && err != SOCKET_PEER_CLOSED_E) {
      char text[WOLFSSL_MAX_ERROR_SZ], msg[WOLFSSL_MAX_ERROR_SZ + 48];
      wolfSSL_ERR_error_string_n((unsigned long)err, text, sizeof text);
      snprintf(msg, sizeof msg, "reading from the server failed: %d %s", err, text);
      ev_error("tls", msg);
    }
    drop_connection(err == WOLFSSL_ERROR_ZERO_RETURN || err == SOCKET_PEER_CLOSED_E ? "peer-closed" : "error");
    return;
  }
}

static void emit_stats(void) {
  ev_begin("stats");
  ev_str("mode", "tls-client");
  ev_int("handshakesOk", hs_ok);
  ev_int("handshakesFailed", hs_failed);
  ev_int("sessionsStored", session ? 1 : 0);
  ev_int("uptimeMs", now_ms() - started_at);
  ev_end();
}

static void on_control(const control_command *c, void *unused) {
  (void)unused;
  if (strcmp(c->cmd, "stats") == 0) emit_stats();
  else if (strcmp(c->cmd, "shutdown") == 0) stopping = 1;
  else if (strcmp(c->cmd, "close") == 0) drop_connection("local");
  else if (strcmp(c->cmd, "connect") == 0 || strcmp(c->cmd, "reconnect") == 0 || strcmp(c->cmd, "connect-0rtt") == 0) {
    drop_connection("local");
    open_connection(c->early, c->has_early ? c->early_len : 0, strcmp(c->cmd, "connect-0rtt") == 0);
    drive();
  } else {
    char msg[160];
    snprintf(msg, sizeof msg, "unknown cmd \"%s\" for a tls-client (connect, connect-0rtt, reconnect, close, stats, shutdown)", c->cmd);
    ev_error("control", msg);
  }
}

static int check_options(const bridge_options *o) {
  const char *missing = !o->have_connect ? "tls-client needs --connect ADDR (the TLS server)"
                        : !o->ca || !o->server_name ? "tls-client needs --ca and --server-name (a DNS name the server certificate carries)"
                        : NULL;
  if (missing) fprintf(stderr, "wolfssl-bridge: %s (see wolfssl-bridge/README.md)\n", missing);
  return missing ? -1 : 0;
}

int run_tls_client(const bridge_options *o) {
  if (check_options(o) != 0) return 2;
  opts = o;
  started_at = now_ms();
  ctx = make_context(o, 0, 1);
  if (!ctx) return 1;
  attach_tcp_io(ctx);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  signal(SIGPIPE, SIG_IGN);
  char a[64];
  ev_begin("listening");
  ev_str("mode", "tls-client");
  ev_str("connect", format_addr(&o->connect, a, sizeof a));
  ev_str("implementation", "wolfSSL " LIBWOLFSSL_VERSION_STRING);
  ev_end();
  int stdin_open = 1;
  fcntl_nonblock(0);
  while (!stopping) {
    struct pollfd fds[2] = {{conn.ssl ? conn.io.fd : -1, POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}};
    poll(fds, 2, 50);
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) drive();
    if (fds[1].revents & (POLLIN | POLLHUP) && control_poll(0, on_control, NULL) < 0) stdin_open = 0;
    if (conn.ssl && !conn.established && now_ms() - conn.started >= o->handshake_timeout_ms) {
      handshake_facts f = facts();
      report_failure(conn.ssl, &f, 0);
      hs_failed++;
      drop_connection("handshake-timeout");
    }
  }
  drop_connection("local");
  ev_bridge_closed("tls-client", hs_ok, hs_failed);
  wolfSSL_CTX_free(ctx);
  return 0;
}
