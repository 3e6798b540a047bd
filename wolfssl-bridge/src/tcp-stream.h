/*
 * TCP sockets for the TLS-over-TCP modes (tls-server.c, tls-client.c): a listener, a bounded
 * connect, and a bounded write of a whole buffer. Every wait has a deadline.
 */
#ifndef WOLFSSL_BRIDGE_TCP_STREAM_H
#define WOLFSSL_BRIDGE_TCP_STREAM_H
#include <netinet/in.h>
#include <stddef.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

/* wolfSSL I/O over a TCP socket whose context is a datagram_io (io.h) with fd set, so the ticket
 * and PSK callbacks of tls-context.c find their per-connection state as in the DTLS modes. End of
 * stream is "connection closed" (io.c's datagram callbacks have no such thing). */
void attach_tcp_io(WOLFSSL_CTX *ctx);

/* A non-blocking listening socket bound to addr (port 0 picks one); -1 after an error event. */
int tcp_listen(const struct sockaddr_in *addr, const char *what);
/* A connected, non-blocking, TCP_NODELAY socket to addr within timeout_ms; -1 if it fails. */
int tcp_connect(const struct sockaddr_in *addr, int timeout_ms);
/* Writes all n bytes to a non-blocking socket within timeout_ms; 0 on success, -1 otherwise. */
int send_all(int fd, const unsigned char *d, size_t n, int timeout_ms);
#endif
