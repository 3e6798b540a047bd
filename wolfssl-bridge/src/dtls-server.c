/*
 * Server mode: one UDP socket, many DTLS 1.3 peers, plaintext to the TypeScript role framed as
 * peerId (u32, big-endian) || payload (dtls-bridge/README.md "Plaintext framing").
 */
#include <arpa/inet.h>
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
#include "tls-context.h"

/* The server's receive CID: 2 bytes (wolfSSL's DTLS_CID_MAX_SIZE default), the peer id. */
#define SERVER_CID_LEN 2

typedef struct {
  unsigned id;
  int in_use, established;
  WOLFSSL *ssl;
  datagram_io io;
  int64_t started, next_timer;
  long dgrams_in, dgrams_out, bytes_in, bytes_out;
  long early_bytes;
  int early_phase;
} peer;

static const bridge_options *opts;
static WOLFSSL_CTX *ctx;
static peer *peers;
static int dtls_fd, plain_fd;
static unsigned next_id = 1;
static long hs_ok, hs_failed, plain_dropped, records_dropped, peers_refused, addresses_changed;
static int64_t started_at;
static volatile sig_atomic_t stopping;

static void on_signal(int sig) {
  (void)sig;
  stopping = 1;
}

static const char *addr_text(const struct sockaddr_in *a) {
  static char buf[4][64];
  static int i;
  i = (i + 1) % 4;
  return format_addr(a, buf[i], sizeof buf[i]);
}

static peer *find_by_addr(const struct sockaddr_in *a) {
  for (int i = 0; i < opts->max_peers; i++)
    if (peers[i].in_use && peers[i].io.to.sin_port == a->sin_port && peers[i].io.to.sin_addr.s_addr == a->sin_addr.s_addr) return &peers[i];
  return NULL;
}

static peer *find_by_id(long id) {
  for (int i = 0; i < opts->max_peers; i++)
    if (peers[i].in_use && peers[i].id == (unsigned)id) return &peers[i];
  return NULL;
}

static void emit_closed(peer *p, const char *how, const char *error) {
  ev_begin("closed");
  ev_str("scope", "peer");
  ev_int("peerId", p->id);
  ev_str("remote", addr_text(&p->io.to));
  ev_str("how", how);
  if (error) ev_str("error", error);
  ev_int("datagramsIn", p->dgrams_in);
  ev_int("datagramsOut", p->dgrams_out);
  ev_int("bytesIn", p->bytes_in);
  ev_int("bytesOut", p->bytes_out);
  ev_end();
}

static void release(peer *p) {
  if (p->ssl) wolfSSL_free(p->ssl);
  memset(p, 0, sizeof *p);
}

static void close_peer(peer *p, const char *how, int notify) {
  if (notify && p->established) wolfSSL_shutdown(p->ssl); /* close_notify, RFC 8446 §6.1 */
  if (p->established) emit_closed(p, how, NULL);
  release(p);
}

static peer *new_peer(const struct sockaddr_in *from) {
  int handshaking = 0;
  peer *slot = NULL;
  for (int i = 0; i < opts->max_peers; i++) {
    if (!peers[i].in_use) {
      if (!slot) slot = &peers[i];
    } else if (!peers[i].established) {
      handshaking++;
    }
  }
  if (!slot) {
    peers_refused++;
    return NULL;
  }
  (void)handshaking;
  WOLFSSL *ssl = wolfSSL_new(ctx);
  if (!ssl) return NULL;
  slot->in_use = 1;
  slot->ssl = ssl;
  slot->id = next_id++;
  slot->io.fd = dtls_fd;
  slot->io.to = *from;
  slot->started = now_ms();
  slot->early_phase = opts->early_data;
  set_io(ssl, &slot->io);
  if (configure_connection(ssl, opts, 1) != 0) {
    release(slot);
    return NULL;
  }
  if (opts->cid) {
    unsigned char cid[SERVER_CID_LEN] = {(unsigned char)(slot->id >> 8), (unsigned char)slot->id};
    wolfSSL_dtls_cid_set(ssl, cid, SERVER_CID_LEN);
  }
  return slot;
}

static void deliver(peer *p, const unsigned char *data, int n) {
  unsigned char framed[4 + MAX_RECORD_DATAGRAM];
  uint32_t id = htonl(p->id);
  memcpy(framed, &id, 4);
  memcpy(framed + 4, data, (size_t)n);
  p->dgrams_in++;
  p->bytes_in += n;
  sendto(plain_fd, framed, (size_t)n + 4, 0, (const struct sockaddr *)&opts->plain, sizeof opts->plain);
}

static handshake_facts facts(peer *p) {
  handshake_facts f = {.peer_id = p->id, .remote = addr_text(&p->io.to), .local = NULL, .duration_ms = now_ms() - p->started,
                       .server = 1, .early_bytes = p->early_bytes, .early_offered = opts->early_data};
  return f;
}

static void fail(peer *p, int err) {
  handshake_facts f = facts(p);
  report_failure(p->ssl, &f, err);
  hs_failed++;
  release(p);
}

/* The handshake (with any 0-RTT data first), then application data. */
static void drive(peer *p) {
  unsigned char buf[MAX_RECORD_DATAGRAM];
  while (p->early_phase && !p->established) {
    int got = 0;
    int ret = wolfSSL_read_early_data(p->ssl, buf, sizeof buf, &got);
    if (got > 0) {
      /* RFC 8446 §4.2.10: 0-RTT data, delivered before the handshake completes; counted here so
       * the handshake event says what really arrived, whatever wolfSSL's status claims. */
      p->early_bytes += got;
      deliver(p, buf, got);
      ev_begin("early-data");
      ev_int("peerId", p->id);
      ev_int("bytes", got);
      ev_end();
    }
    if (ret > 0) continue;
    int err = ret < 0 ? wolfSSL_get_error(p->ssl, ret) : 0;
    if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) return;
    /* No (more) early data (5.5.4 reports that as 0 or as ZERO_RETURN): wolfSSL_accept finishes
     * the handshake, and reports any real failure itself. */
    p->early_phase = 0;
  }
  if (!p->established) {
    int ret = wolfSSL_accept(p->ssl);
    if (ret != WOLFSSL_SUCCESS) {
      int err = wolfSSL_get_error(p->ssl, ret);
      if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) return;
      fail(p, err);
      return;
    }
    p->established = 1;
    hs_ok++;
    handshake_facts f = facts(p);
    report_handshake(p->ssl, &f);
  }
  for (;;) {
    int n = wolfSSL_read(p->ssl, buf, sizeof buf);
    if (n > 0) {
      deliver(p, buf, n);
      continue;
    }
    int err = wolfSSL_get_error(p->ssl, n);
    if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) return;
    if (err == WOLFSSL_ERROR_ZERO_RETURN) {
      emit_closed(p, "peer-closed", NULL);
    } else {
      char text[WOLFSSL_MAX_ERROR_SZ];
      wolfSSL_ERR_error_string_n((unsigned long)err, text, sizeof text);
      emit_closed(p, err == FATAL_ERROR ? "alert" : "error", text);
    }
    release(p);
    return;
  }
}

static void on_dtls_datagram(void) {
  unsigned char d[MAX_RECORD_DATAGRAM + 1];
  struct sockaddr_in from;
  socklen_t fl = sizeof from;
  for (int budget = 0; budget < 256; budget++) {
    ssize_t n = recvfrom(dtls_fd, d, sizeof d, 0, (struct sockaddr *)&from, &fl);
    if (n < 0) return;
    /* Garbage, truncated headers and oversized datagrams never reach wolfSSL. */
    if (!looks_like_dtls(d, (size_t)n)) {
      records_dropped++;
      continue;
    }
    peer *p = find_by_addr(&from);
    struct sockaddr_in moved_from = {0};
    int moved = 0;
    if (!p && opts->cid) {
      /* RFC 9146 §6 / RFC 9147 §9: a record with our CID from a new address is the same
       * association behind a rebinding NAT; the address moves only if the record decrypts. */
      long cid = unified_header_cid(d, (size_t)n, SERVER_CID_LEN);
      peer *q = cid > 0 ? find_by_id(cid) : NULL;
      if (q && q->established) {
        p = q;
        moved_from = p->io.to;
        p->io.to = from;
        moved = 1;
      }
    }
    if (!p) {
      if (d[0] != 22) { /* only a handshake record may open an association */
        records_dropped++;
        continue;
      }
      p = new_peer(&from);
      if (!p) continue;
    }
    long before = p->dgrams_in;
    unsigned id = p->id;
    p->io.pending = d;
    p->io.pending_len = (size_t)n;
    drive(p);
    if (p->in_use && p->id == id) {
      p->io.pending = NULL;
      p->next_timer = 0;
      if (moved && p->dgrams_in == before) p->io.to = moved_from; /* did not authenticate: stay */
      else if (moved) {
        addresses_changed++;
        ev_begin("peer-address-changed");
        ev_int("peerId", p->id);
        ev_str("from", addr_text(&moved_from));
        ev_str("to", addr_text(&from));
        ev_end();
      }
    }
  }
}

static void on_plain_datagram(void) {
  unsigned char d[4 + MAX_RECORD_DATAGRAM];
  struct sockaddr_in from;
  socklen_t fl = sizeof from;
  for (int budget = 0; budget < 256; budget++) {
    ssize_t n = recvfrom(plain_fd, d, sizeof d, 0, (struct sockaddr *)&from, &fl);
    if (n < 0) return;
    uint32_t id;
    if (n < 4 || from.sin_port != opts->plain.sin_port || from.sin_addr.s_addr != opts->plain.sin_addr.s_addr) {
      plain_dropped++;
      continue;
    }
    memcpy(&id, d, 4);
    peer *p = find_by_id(ntohl(id));
    if (!p || !p->established || n - 4 > 16384) {
      plain_dropped++;
      continue;
    }
    if (wolfSSL_write(p->ssl, d + 4, (int)(n - 4)) > 0) {
      p->dgrams_out++;
      p->bytes_out += n - 4;
    } else {
      plain_dropped++;
    }
  }
}

static void emit_stats(void) {
  char list[65536];
  size_t o = 0;
  int handshaking = 0, first = 1;
  o += (size_t)snprintf(list + o, sizeof list - o, "[");
  for (int i = 0; i < opts->max_peers && o + 256 < sizeof list; i++) {
    peer *p = &peers[i];
    if (!p->in_use) continue;
    if (!p->established) {
      handshaking++;
      continue;
    }
    o += (size_t)snprintf(list + o, sizeof list - o, "%s{\"peerId\":%u,\"remote\":\"%s\",\"datagramsIn\":%ld,\"datagramsOut\":%ld,\"bytesIn\":%ld,\"bytesOut\":%ld}",
                          first ? "" : ",", p->id, addr_text(&p->io.to), p->dgrams_in, p->dgrams_out, p->bytes_in, p->bytes_out);
    first = 0;
  }
  snprintf(list + o, sizeof list - o, "]");
  ev_begin("stats");
  ev_str("mode", "server");
  ev_raw("peers", list);
  ev_int("handshakesOk", hs_ok);
  ev_int("handshakesFailed", hs_failed);
  ev_int("handshaking", handshaking);
  ev_int("plainDropped", plain_dropped);
  ev_int("recordsDropped", records_dropped);
  ev_int("peersRefused", peers_refused);
  ev_int("ticketsRefused", tickets_refused());
  ev_int("addressesChanged", addresses_changed);
  ev_int("uptimeMs", now_ms() - started_at);
  ev_end();
}

static void on_control(const control_command *c, void *unused) {
  (void)unused;
  if (strcmp(c->cmd, "stats") == 0) emit_stats();
  else if (strcmp(c->cmd, "shutdown") == 0) stopping = 1;
  else if (strcmp(c->cmd, "close") == 0) {
    peer *p = c->peer_id > 0 ? find_by_id(c->peer_id) : NULL;
    if (p) close_peer(p, "local", 1);
    else ev_error("control", "close: no such peerId (take it from a handshake event)");
  } else {
    char msg[96];
    snprintf(msg, sizeof msg, "unknown cmd \"%s\" for a server (stats, close, shutdown)", c->cmd);
    ev_error("control", msg);
  }
}

/* Retransmission (RFC 9147 §5.8) and the handshake deadline, for peers still handshaking. */
static void run_timers(void) {
  int64_t now = now_ms();
  for (int i = 0; i < opts->max_peers; i++) {
    peer *p = &peers[i];
    if (!p->in_use || p->established) continue;
    if (now - p->started >= opts->handshake_timeout_ms) {
      fail(p, 0);
      continue;
    }
    if (!p->next_timer) p->next_timer = now + 1000LL * wolfSSL_dtls_get_current_timeout(p->ssl);
    if (now >= p->next_timer) {
      p->next_timer = 0;
      if (wolfSSL_dtls_got_timeout(p->ssl) != WOLFSSL_SUCCESS) {
        int err = wolfSSL_get_error(p->ssl, -1);
        if (err != WOLFSSL_ERROR_WANT_READ && err != WOLFSSL_ERROR_WANT_WRITE) fail(p, err);
      }
    }
  }
}

int run_server(const bridge_options *o) {
  opts = o;
  started_at = now_ms();
  ctx = make_context(o, 1, 0);
  if (!ctx) return 1;
  attach_io(ctx);
  peers = calloc((size_t)o->max_peers, sizeof *peers);
  struct sockaddr_in plain_local = o->plain_local;
  if (!o->have_plain_local) {
    memset(&plain_local, 0, sizeof plain_local);
    plain_local.sin_family = AF_INET;
    plain_local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  if ((dtls_fd = udp_socket(&o->listen, "DTLS (--listen)")) < 0) return 1;
  if ((plain_fd = udp_socket(&plain_local, "plaintext (--plain-local)")) < 0) return 1;
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  signal(SIGPIPE, SIG_IGN);
  struct sockaddr_in dtls_addr = bound_address(dtls_fd), plain_addr = bound_address(plain_fd);
  ev_begin("listening");
  ev_str("mode", "server");
  ev_str("dtls", addr_text(&dtls_addr));
  ev_str("plain", addr_text(&plain_addr));
  ev_str("plainPeer", addr_text(&o->plain));
  ev_str("implementation", "wolfSSL " LIBWOLFSSL_VERSION_STRING);
  ev_end();
  int stdin_open = 1;
  fcntl_nonblock(0);
  while (!stopping) {
    struct pollfd fds[3] = {{dtls_fd, POLLIN, 0}, {plain_fd, POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}};
    poll(fds, 3, 50);
    if (fds[0].revents & POLLIN) on_dtls_datagram();
    if (fds[1].revents & POLLIN) on_plain_datagram();
    if (fds[2].revents & (POLLIN | POLLHUP)) {
      if (control_poll(0, on_control, NULL) < 0) stdin_open = 0;
    }
    run_timers();
  }
  for (int i = 0; i < o->max_peers; i++)
    if (peers[i].in_use) close_peer(&peers[i], "local", 1);
  ev_bridge_closed("server", hs_ok, hs_failed);
  wolfSSL_CTX_free(ctx);
  return 0;
}
