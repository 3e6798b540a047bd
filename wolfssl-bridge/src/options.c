#include "options.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int parse_addr(const char *text, struct sockaddr_in *out) {
  char host[64];
  const char *colon = strrchr(text, ':');
  if (!colon || (size_t)(colon - text) >= sizeof host) return -1;
  memcpy(host, text, (size_t)(colon - text));
  host[colon - text] = 0;
  char *end;
  long port = strtol(colon + 1, &end, 10);
  if (*end || port < 0 || port > 65535) return -1;
  memset(out, 0, sizeof *out);
  out->sin_family = AF_INET;
  out->sin_port = htons((unsigned short)port);
  if (inet_pton(AF_INET, host, &out->sin_addr) == 1) return 0;
  /* A host name (a container's DNS name on its network): its IPv4 address. */
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res) return -1;
  out->sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
  freeaddrinfo(res);
  return 0;
}

const char *format_addr(const struct sockaddr_in *a, char *buf, unsigned cap) {
  char host[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
  snprintf(buf, cap, "%s:%u", host, ntohs(a->sin_port));
  return buf;
}

static int fail(const char *what) {
  fprintf(stderr, "wolfssl-bridge: %s (see wolfssl-bridge/README.md)\n", what);
  return -1;
}

static int on_off(const char *flag, const char *v, int *out) {
  if (strcmp(v, "on") == 0) *out = 1;
  else if (strcmp(v, "off") == 0) *out = 0;
  else {
    fprintf(stderr, "wolfssl-bridge: %s takes on or off, got \"%s\"\n", flag, v);
    return -1;
  }
  return 0;
}

static int duration_ms(const char *v, int *out) {
  char *end;
  double n = strtod(v, &end);
  if (end == v || n <= 0) return -1;
  if (strcmp(end, "ms") == 0) *out = (int)n;
  else if (strcmp(end, "s") == 0 || *end == 0) *out = (int)(n * 1000);
  else return -1;
  return *out > 0 ? 0 : -1;
}

static int positive(const char *flag, const char *v, int *out, int max) {
  char *end;
  long n = strtol(v, &end, 10);
  if (*end || n < 1 || n > max) {
    fprintf(stderr, "wolfssl-bridge: %s must be a whole number 1..%d, got \"%s\"\n", flag, max, v);
    return -1;
  }
  *out = (int)n;
  return 0;
}

int parse_options(int argc, char **argv, bridge_options *o) {
  memset(o, 0, sizeof *o);
  o->handshake_timeout_ms = 5000;
  o->mtu = 1400;
  o->hrr_cookie = 1;
  o->single_use_tickets = 1;
  o->dtls13_only = 1;
  o->max_peers = 1024;
  o->client_auth = "none";
  o->bench_handshakes = 100;
  o->bench_datagrams = 10000;
  o->bench_payload = 97;
  o->bench_concurrent = 100;
  if (argc < 2) return fail("usage: wolfssl-bridge server|client|bench [flags]");
  if (strcmp(argv[1], "server") == 0) o->mode = MODE_SERVER;
  else if (strcmp(argv[1], "client") == 0) o->mode = MODE_CLIENT;
  else if (strcmp(argv[1], "bench") == 0) o->mode = MODE_BENCH;
  else if (strcmp(argv[1], "tls-server") == 0) o->mode = MODE_TLS_SERVER;
  else if (strcmp(argv[1], "tls-client") == 0) o->mode = MODE_TLS_CLIENT;
  else {
    fprintf(stderr, "wolfssl-bridge: unknown mode \"%s\"; use server, client, bench, tls-server or tls-client\n", argv[1]);
    return -1;
  }
  for (int i = 2; i < argc; i++) {
    const char *f = argv[i];
    /* Boolean flags first; every other flag takes one value. */
    if (strcmp(f, "--session-store") == 0) { o->session_store = 1; continue; }
    if (strcmp(f, "--insecure-skip-verify") == 0) { o->insecure_skip_verify = 1; continue; }
    if (strcmp(f, "--early-data") == 0) { o->early_data = 1; continue; }
    if (strcmp(f, "--unchecked-key-pair") == 0) { o->unchecked_key_pair = 1; continue; }
    if (strncmp(f, "--", 2) != 0) {
      fprintf(stderr, "wolfssl-bridge: unexpected argument \"%s\"; flags start with --\n", f);
      return -1;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "wolfssl-bridge: %s needs a value\n", f);
      return -1;
    }
    const char *v = argv[++i];
    if (strcmp(f, "--cert") == 0) o->cert = v;
    else if (strcmp(f, "--key") == 0) o->key = v;
    else if (strcmp(f, "--ca") == 0) o->ca = v;
    else if (strcmp(f, "--psk") == 0) o->psk_hex = v;
    else if (strcmp(f, "--ciphers") == 0) o->ciphers = v;
    else if (strcmp(f, "--keylog") == 0) o->keylog = v;
    else if (strcmp(f, "--log-level") == 0) o->log_level = v;
    else if (strcmp(f, "--handshake-timeout") == 0) {
      if (duration_ms(v, &o->handshake_timeout_ms)) {
        fprintf(stderr, "wolfssl-bridge: --handshake-timeout takes a duration like 5s or 800ms, got \"%s\"\n", v);
        return -1;
      }
    } else if (strcmp(f, "--mtu") == 0) { if (positive(f, v, &o->mtu, 65535)) return -1; }
    else if (strcmp(f, "--hrr-cookie") == 0) { if (on_off(f, v, &o->hrr_cookie)) return -1; }
    else if (strcmp(f, "--cid") == 0) { if (on_off(f, v, &o->cid)) return -1; }
    else if (strcmp(f, "--single-use-tickets") == 0) { if (on_off(f, v, &o->single_use_tickets)) return -1; }
    else if (strcmp(f, "--versions") == 0) {
      if (strcmp(v, "1.3") == 0) o->dtls13_only = 1;
      else if (strcmp(v, "1.2-1.3") == 0) o->dtls13_only = 0;
      else {
        fprintf(stderr, "wolfssl-bridge: --versions takes 1.3 (DTLS 1.3 only) or 1.2-1.3 (downgrade-capable), got \"%s\"\n", v);
        return -1;
      }
    } else if (strcmp(f, "--listen") == 0) { if (parse_addr(v, &o->listen)) goto bad_addr; o->have_listen = 1; }
    else if (strcmp(f, "--upstream") == 0) { if (parse_addr(v, &o->upstream)) goto bad_addr; o->have_upstream = 1; }
    else if (strcmp(f, "--plain") == 0) { if (parse_addr(v, &o->plain)) goto bad_addr; o->have_plain = 1; }
    else if (strcmp(f, "--plain-local") == 0) { if (parse_addr(v, &o->plain_local)) goto bad_addr; o->have_plain_local = 1; }
    else if (strcmp(f, "--connect") == 0) { if (parse_addr(v, &o->connect)) goto bad_addr; o->have_connect = 1; }
    else if (strcmp(f, "--local") == 0) { if (parse_addr(v, &o->local)) goto bad_addr; o->have_local = 1; }
    else if (strcmp(f, "--plain-peer") == 0) { if (parse_addr(v, &o->plain_peer)) goto bad_addr; o->have_plain_peer = 1; }
    else if (strcmp(f, "--client-auth") == 0) {
      if (strcmp(v, "none") && strcmp(v, "request") && strcmp(v, "require")) {
        fprintf(stderr, "wolfssl-bridge: --client-auth takes none, request or require, got \"%s\"\n", v);
        return -1;
      }
      o->client_auth = v;
    } else if (strcmp(f, "--psk-identity-hint") == 0) o->psk_hint = v;
    else if (strcmp(f, "--max-peers") == 0) { if (positive(f, v, &o->max_peers, 65536)) return -1; }
    else if (strcmp(f, "--server-name") == 0) o->server_name = v;
    else if (strcmp(f, "--psk-identity") == 0) o->psk_identity = v;
    else if (strcmp(f, "--handshakes") == 0) { if (positive(f, v, &o->bench_handshakes, 100000)) return -1; }
    else if (strcmp(f, "--datagrams") == 0) { if (positive(f, v, &o->bench_datagrams, 10000000)) return -1; }
    else if (strcmp(f, "--payload") == 0) { if (positive(f, v, &o->bench_payload, 1200)) return -1; }
    else if (strcmp(f, "--concurrent") == 0) { if (positive(f, v, &o->bench_concurrent, 1000)) return -1; }
    else if (strcmp(f, "--client-cert") == 0) o->client_cert = v;
    else if (strcmp(f, "--client-key") == 0) o->client_key = v;
    else {
      fprintf(stderr, "wolfssl-bridge: unknown flag %s (see wolfssl-bridge/README.md)\n", f);
      return -1;
    }
    continue;
  bad_addr:
    fprintf(stderr, "wolfssl-bridge: %s takes an IPv4 address and port like 127.0.0.1:5684, got \"%s\"\n", f, v);
    return -1;
  }
  if ((o->cert == NULL) != (o->key == NULL)) return fail("--cert and --key go together; give both or neither");
  if (o->psk_hex) {
    size_t n = strlen(o->psk_hex);
    if (n == 0 || n % 2 || n > 128 || strspn(o->psk_hex, "0123456789abcdefABCDEF") != n) return fail("--psk must be 1..64 bytes of hex");
  }
  if (o->mode == MODE_SERVER) {
    if (!o->have_listen) return fail("server mode needs --listen ADDR (the DTLS side)");
    if (!o->have_plain) return fail("server mode needs --plain ADDR (the TypeScript role's loopback UDP address)");
    if (!o->cert && !o->psk_hex) return fail("a server needs --cert/--key or --psk");
    if (strcmp(o->client_auth, "none") && !o->ca) return fail("--client-auth request|require needs --ca (the issuers of client certificates)");
  }
  if (o->mode == MODE_CLIENT) {
    if (!o->have_connect) return fail("client mode needs --connect ADDR (the DTLS server)");
    if (!o->have_plain) return fail("client mode needs --plain ADDR (the bridge's own loopback plaintext socket, e.g. 127.0.0.1:0)");
    if (o->ca && !o->insecure_skip_verify && !o->server_name) return fail("a client with --ca needs --server-name NAME (a DNS name the server certificate carries)");
    if (!o->ca && !o->insecure_skip_verify && !o->psk_hex) return fail("a client needs --ca and --server-name, --insecure-skip-verify, or --psk");
    if (o->psk_hex && !o->psk_identity) return fail("--psk needs --psk-identity on a client");
  }
  if (o->have_plain && ntohl(o->plain.sin_addr.s_addr) >> 24 != 127) return fail("--plain must be a loopback address: decrypted data never leaves the host");
  if (o->have_plain_peer && ntohl(o->plain_peer.sin_addr.s_addr) >> 24 != 127) return fail("--plain-peer must be a loopback address");
  return 0;
}
