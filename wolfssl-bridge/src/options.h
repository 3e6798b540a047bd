/*
 * Command-line options: the flags of dtls-bridge (dtls-bridge/README.md "Usage") plus the DTLS 1.3
 * knobs of this bridge (wolfssl-bridge/README.md).
 */
#ifndef WOLFSSL_BRIDGE_OPTIONS_H
#define WOLFSSL_BRIDGE_OPTIONS_H
#include <netinet/in.h>

enum bridge_mode { MODE_SERVER, MODE_CLIENT, MODE_BENCH, MODE_TLS_SERVER, MODE_TLS_CLIENT };

typedef struct {
  enum bridge_mode mode;
  /* both modes */
  const char *cert, *key, *ca, *psk_hex, *ciphers, *keylog, *log_level;
  int session_store;
  int handshake_timeout_ms;
  int mtu;
  /* DTLS 1.3 knobs (RFC 9147) */
  int hrr_cookie;          /* server: stateless HelloRetryRequest cookie, RFC 9147 §5.1 (default on) */
  int cid;                 /* Connection ID, RFC 9146/9147 §9 (default off) */
  int early_data;          /* 0-RTT, RFC 8446 §4.2.10 (default off) */
  int single_use_tickets;  /* server: each ticket resumes once, the RFC 8446 §8.1 anti-replay (default on) */
  int dtls13_only;         /* refuse DTLS 1.2 (default), or allow a downgrade to it */
  /* server */
  struct sockaddr_in listen, plain, plain_local;
  int have_plain_local;
  const char *client_auth; /* none|request|require */
  const char *psk_hint;
  int max_peers;
  struct sockaddr_in upstream; /* tls-server: the TCP service the plaintext stream goes to */
  int have_upstream;
  /* client */
  struct sockaddr_in connect, local, plain_peer;
  int have_local, have_plain_peer, have_connect, have_listen, have_plain;
  const char *server_name;
  int insecure_skip_verify;
  int unchecked_key_pair;  /* MITM only: serve --cert with a --key that does not match it */
  const char *psk_identity;
  /* bench */
  int bench_handshakes, bench_datagrams, bench_payload, bench_concurrent;
  const char *client_cert, *client_key;
} bridge_options;

/* Parses argv; on a bad flag prints one line saying what to fix and returns -1. */
int parse_options(int argc, char **argv, bridge_options *o);
/* "127.0.0.1:5684" -> sockaddr; returns 0 on success. */
int parse_addr(const char *text, struct sockaddr_in *out);
/* "127.0.0.1:5684" from a sockaddr. */
const char *format_addr(const struct sockaddr_in *a, char *buf, unsigned cap);
#endif
