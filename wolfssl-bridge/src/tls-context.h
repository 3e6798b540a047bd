/*
 * One WOLFSSL_CTX from the bridge's options: the DTLS 1.3 method (or the downgrade-capable one),
 * certificates, trust anchors, the PSK callbacks, the ticket key and the key log.
 */
#ifndef WOLFSSL_BRIDGE_TLS_CONTEXT_H
#define WOLFSSL_BRIDGE_TLS_CONTEXT_H
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "options.h"

/* Returns NULL after an "error" event (scope startup) that says what to fix. */
WOLFSSL_CTX *make_context(const bridge_options *o, int server, int tcp);
/* Per-connection settings the CTX cannot carry (SNI, host name check, HRR cookie, CID, key log). */
int configure_connection(WOLFSSL *ssl, const bridge_options *o, int server);
/* Keeps the session (with the newest ticket the server sent, NewSessionTicket, RFC 8446 §4.6.1)
 * of an established client connection in *store for the next connection's resumption. */
void keep_client_session(WOLFSSL *ssl, WOLFSSL_SESSION **store);
/* Tickets the single-use check refused (a replayed 0-RTT ClientHello, RFC 8446 §8.1). */
long tickets_refused(void);
#endif
