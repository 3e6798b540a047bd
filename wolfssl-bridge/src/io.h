/*
 * Sockets and the wolfSSL I/O callbacks. One UDP socket serves every DTLS peer of a server: the
 * bridge reads each datagram itself, picks its peer (by address, or by Connection ID, RFC 9146
 * §6), and hands wolfSSL exactly that datagram through the receive callback.
 */
#ifndef WOLFSSL_BRIDGE_IO_H
#define WOLFSSL_BRIDGE_IO_H
#include <netinet/in.h>
#include <stddef.h>
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

typedef struct {
  int fd;
  struct sockaddr_in to;      /* where records for this connection go */
  int connected;              /* client: the socket is connect()ed; recv reads it directly */
  const unsigned char *pending; /* server: the one datagram wolfSSL may read now */
  size_t pending_len;
  char psk_identity[129];       /* server: the identity the client's PSK was found under */
  unsigned char ticket_iv[16];  /* server: the ticket this connection opened (wolfSSL opens it again per check) */
  int opened_ticket;
} datagram_io;

/* A non-blocking UDP socket bound to addr (port 0 picks one); -1 after an error event. */
int udp_socket(const struct sockaddr_in *addr, const char *what);
/* The address a socket is bound to. */
struct sockaddr_in bound_address(int fd);
void attach_io(WOLFSSL_CTX *ctx);
void set_io(WOLFSSL *ssl, datagram_io *io);

/* RFC 9147 §4 / RFC 6347 §4.1: the largest DTLS datagram we hand to wolfSSL (2^14 + 2048). */
#define MAX_RECORD_DATAGRAM (16384 + 2048)
/* Whether a datagram can be a DTLS record at all: a DTLSPlaintext/DTLSCiphertext header (content
 * type 20..25, version 0xfeXX) or a DTLS 1.3 unified header (first byte 001CSLEE). */
int looks_like_dtls(const unsigned char *d, size_t len);
/* The server's CID in a unified-header record that carries one (C bit set), else -1. */
long unified_header_cid(const unsigned char *d, size_t len, size_t cid_len);
#endif
