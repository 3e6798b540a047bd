/*
 * The "handshake" and "handshake-failed" events, in dtls-bridge's field names and reason words
 * (dtls-bridge/README.md "Events"), from one wolfSSL connection.
 */
#ifndef WOLFSSL_BRIDGE_HANDSHAKE_REPORT_H
#define WOLFSSL_BRIDGE_HANDSHAKE_REPORT_H
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

typedef struct {
  unsigned peer_id;
  const char *remote, *local;
  long long duration_ms;
  int server;
  /* Early data bytes this side really sent (client) or received before the handshake ended (server). */
  long early_bytes;
  int early_offered;
} handshake_facts;

void report_handshake(WOLFSSL *ssl, const handshake_facts *f);
/* err: wolfSSL_get_error's value, or 0 for our own handshake timeout. */
void report_failure(WOLFSSL *ssl, const handshake_facts *f, int err);
/* The reason word for a wolfSSL error (and the alert the peer sent, if any). */
const char *failure_reason(int err, int alert_rx);
#endif
