#include "tls-context.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wolfssl/wolfcrypt/chacha20_poly1305.h>
#include <wolfssl/wolfcrypt/random.h>

#include "events.h"
#include "io.h"

static const bridge_options *opts;
static unsigned char psk_key[64];
static unsigned psk_len;
static FILE *keylog;

static int startup_error(const char *what, const char *file) {
  char msg[1024];
  snprintf(msg, sizeof msg, "%s%s%s", what, file ? ": " : "", file ? file : "");
  ev_error("startup", msg);
  return -1;
}

/* ---- PSK (RFC 8446 §4.2.11: an external PSK with (EC)DHE) ---- */

static unsigned int psk_client(WOLFSSL *ssl, const char *hint, char *identity, unsigned int id_max, unsigned char *key,
                               unsigned int key_max, const char **suite) {
  (void)ssl;
  (void)hint;
  if (strlen(opts->psk_identity) >= id_max || psk_len > key_max) return 0;
  strcpy(identity, opts->psk_identity);
  memcpy(key, psk_key, psk_len);
  *suite = "TLS13-AES128-GCM-SHA256";
  return psk_len;
}

static unsigned int psk_server(WOLFSSL *ssl, const char *identity, unsigned char *key, unsigned int key_max, const char **suite) {
  /* Any identity with the shared key, as dtls-bridge does; the handshake event names it. */
  datagram_io *io = wolfSSL_GetIOReadCtx(ssl);
  if (io && identity) snprintf(io->psk_identity, sizeof io->psk_identity, "%s", identity);
  if (psk_len > key_max) return 0;
  memcpy(key, psk_key, psk_len);
  *suite = "TLS13-AES128-GCM-SHA256";
  return psk_len;
}

/* ---- Session tickets: our own key, and the single-use check ----
 * RFC 8446 §8.1: a server that lets each ticket resume only once refuses a replayed 0-RTT
 * ClientHello. wolfSSL's default tickets are stateless and may be used again within their
 * lifetime, so with --single-use-tickets on (default) this callback remembers the IVs of the
 * tickets it has opened and refuses a second use (a full handshake; the early data is rejected).
 */
static unsigned char ticket_key[CHACHA20_POLY1305_AEAD_KEYSIZE];
static const unsigned char ticket_name[WOLFSSL_TICKET_NAME_SZ] = "testbed-wolfssl";
#define SEEN_TICKETS 8192
static unsigned char seen_iv[SEEN_TICKETS][WOLFSSL_TICKET_IV_SZ];
static long seen_count;
static long refused;

long tickets_refused(void) { return refused; }

void keep_client_session(WOLFSSL *ssl, WOLFSSL_SESSION **store) {
  WOLFSSL_SESSION *s = wolfSSL_get1_session(ssl);
  if (!s) return;
  if (*store) wolfSSL_SESSION_free(*store);
  *store = s;
}

static int ticket_seen_before(WOLFSSL *ssl, const unsigned char *iv) {
  /* wolfSSL opens the same ticket several times in one handshake (binder checks, and again for
   * the ClientHello after a cookie HRR): a second use is by another connection only. */
  datagram_io *io = wolfSSL_GetIOReadCtx(ssl);
  if (io && io->opened_ticket && memcmp(io->ticket_iv, iv, WOLFSSL_TICKET_IV_SZ) == 0) return 0;
  if (io) {
    memcpy(io->ticket_iv, iv, WOLFSSL_TICKET_IV_SZ);
    io->opened_ticket = 1;
  }
  long n = seen_count < SEEN_TICKETS ? seen_count : SEEN_TICKETS;
  for (long i = 0; i < n; i++)
    if (memcmp(seen_iv[i], iv, WOLFSSL_TICKET_IV_SZ) == 0) return 1;
  memcpy(seen_iv[seen_count % SEEN_TICKETS], iv, WOLFSSL_TICKET_IV_SZ);
  seen_count++;
  return 0;
}

static int ticket_cb(WOLFSSL *ssl, unsigned char name[WOLFSSL_TICKET_NAME_SZ], unsigned char iv[WOLFSSL_TICKET_IV_SZ],
                     unsigned char mac[WOLFSSL_TICKET_MAC_SZ], int enc, unsigned char *ticket, int len, int *out_len, void *ctx) {
  (void)ctx;
  unsigned char aad[WOLFSSL_TICKET_NAME_SZ + WOLFSSL_TICKET_IV_SZ + 2];
  if (enc) {
    WC_RNG rng;
    memcpy(name, ticket_name, WOLFSSL_TICKET_NAME_SZ);
    if (wc_InitRng(&rng) || wc_RNG_GenerateBlock(&rng, iv, WOLFSSL_TICKET_IV_SZ)) return WOLFSSL_TICKET_RET_FATAL;
    wc_FreeRng(&rng);
  } else if (memcmp(name, ticket_name, WOLFSSL_TICKET_NAME_SZ) != 0) {
    return WOLFSSL_TICKET_RET_REJECT;
  }
  memcpy(aad, name, WOLFSSL_TICKET_NAME_SZ);
  memcpy(aad + WOLFSSL_TICKET_NAME_SZ, iv, WOLFSSL_TICKET_IV_SZ);
  aad[sizeof aad - 2] = (unsigned char)(len >> 8);
  aad[sizeof aad - 1] = (unsigned char)len;
  /* ChaCha20-Poly1305 takes a 12-byte nonce: the first 12 bytes of the random IV. */
  if (enc) {
    if (wc_ChaCha20Poly1305_Encrypt(ticket_key, iv, aad, sizeof aad, ticket, (word32)len, ticket, mac)) return WOLFSSL_TICKET_RET_FATAL;
    memset(mac + CHACHA20_POLY1305_AEAD_AUTHTAG_SIZE, 0, WOLFSSL_TICKET_MAC_SZ - CHACHA20_POLY1305_AEAD_AUTHTAG_SIZE);
  } else {
    if (wc_ChaCha20Poly1305_Decrypt(ticket_key, iv, aad, sizeof aad, ticket, (word32)len, mac, ticket)) return WOLFSSL_TICKET_RET_REJECT;
    if (opts->single_use_tickets && ticket_seen_before(ssl, iv)) {
      refused++;
      ev_begin("ticket-refused");
      ev_str("reason", "single-use ticket presented again (RFC 8446 §8.1 anti-replay)");
      ev_int("ticketsRefused", refused);
      ev_end();
      return WOLFSSL_TICKET_RET_REJECT;
    }
  }
  *out_len = len;
  return WOLFSSL_TICKET_RET_OK;
}

/* ---- NSS key log (SSLKEYLOGFILE format, TLS 1.3 labels) for Wireshark ---- */

static int keylog_cb(WOLFSSL *ssl, int id, const unsigned char *secret, int len, void *ctx) {
  (void)ctx;
  static const char *labels[] = {"CLIENT_EARLY_TRAFFIC_SECRET", "CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                                 "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EARLY_EXPORTER_SECRET", "EXPORTER_SECRET"};
  unsigned char random[32];
  if (!keylog || id < 0 || id > EXPORTER_SECRET) return 0;
  if (wolfSSL_get_client_random(ssl, random, sizeof random) != sizeof random) return 0;
  fprintf(keylog, "%s ", labels[id]);
  for (int i = 0; i < 32; i++) fprintf(keylog, "%02x", random[i]);
  fputc(' ', keylog);
  for (int i = 0; i < len; i++) fprintf(keylog, "%02x", secret[i]);
  fputc('\n', keylog);
  fflush(keylog);
  return 0;
}

static int open_keylog(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (fd < 0) return startup_error("cannot open the key log for appending (check the directory exists and is writable)", path);
  fchmod(fd, 0600); /* key material: owner only, even if the file existed */
  keylog = fdopen(fd, "a");
  return keylog ? 0 : -1;
}

static int verify_none(int preverify, WOLFSSL_X509_STORE_CTX *store) {
  (void)preverify;
  (void)store;
  return 1; /* the no-verify profile: any server certificate is accepted */
}

WOLFSSL_CTX *make_context(const bridge_options *o, int server, int tcp) {
  opts = o;
  WOLFSSL_METHOD *method;
  if (tcp) method = server ? wolfTLSv1_3_server_method() : wolfTLSv1_3_client_method();
  else if (o->dtls13_only) method = server ? wolfDTLSv1_3_server_method() : wolfDTLSv1_3_client_method();
  else method = server ? wolfDTLS_server_method() : wolfDTLS_client_method(); /* highest version both speak */
  WOLFSSL_CTX *ctx = wolfSSL_CTX_new(method);
  if (!ctx) {
    startup_error("wolfSSL_CTX_new failed (is wolfSSL built with DTLS 1.3? run: node bin/testbed.js setup --only wolfssl)", NULL);
    return NULL;
  }
  if (!o->dtls13_only && !tcp) wolfSSL_CTX_SetMinVersion(ctx, WOLFSSL_DTLSV1_2);
  if (o->cert) {
    if (wolfSSL_CTX_use_certificate_chain_file(ctx, o->cert) != WOLFSSL_SUCCESS) goto bad_cert;
    if (wolfSSL_CTX_use_PrivateKey_file(ctx, o->key, WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS) goto bad_key;
    /* The forged catalogue's replaced-key: the genuine certificate with the attacker's key; the
     * CertificateVerify is then signed with the wrong key and a client must refuse it (RFC 8446 §4.4.3). */
    if (!o->unchecked_key_pair && wolfSSL_CTX_check_private_key(ctx) != WOLFSSL_SUCCESS) goto bad_pair;
  }
  if (o->ca && wolfSSL_CTX_load_verify_locations(ctx, o->ca, NULL) != WOLFSSL_SUCCESS) goto bad_ca;
  if (server) {
    if (strcmp(o->client_auth, "require") == 0) wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER | WOLFSSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    else if (strcmp(o->client_auth, "request") == 0) wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER, NULL);
    else wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, NULL);
    RAND_bytes(ticket_key, sizeof ticket_key);
    wolfSSL_CTX_set_TicketEncCb(ctx, ticket_cb);
    if (o->early_data) wolfSSL_CTX_set_max_early_data(ctx, 16384);
    else wolfSSL_CTX_set_max_early_data(ctx, 0);
  } else if (o->insecure_skip_verify) {
    wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER, verify_none);
  } else if (o->ca) {
    wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER, NULL);
  } else {
    wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, NULL); /* PSK only: no certificate is exchanged */
  }
  if (o->psk_hex) {
    psk_len = (unsigned)strlen(o->psk_hex) / 2;
    for (unsigned i = 0; i < psk_len; i++) sscanf(o->psk_hex + 2 * i, "%2hhx", &psk_key[i]);
    if (server) {
      wolfSSL_CTX_set_psk_server_tls13_callback(ctx, psk_server);
      if (o->psk_hint) wolfSSL_CTX_use_psk_identity_hint(ctx, o->psk_hint);
    } else {
      wolfSSL_CTX_set_psk_client_tls13_callback(ctx, psk_client);
    }
  }
  char suites[512] = "";
  if (o->ciphers) { /* dtls-bridge separates with commas, wolfSSL with colons: take both */
    snprintf(suites, sizeof suites, "%s", o->ciphers);
    for (char *c = suites; *c; c++)
      if (*c == ',') *c = ':';
  }
  if (o->ciphers && wolfSSL_CTX_set_cipher_list(ctx, suites) != WOLFSSL_SUCCESS) {
    startup_error("--ciphers names no TLS 1.3 suite wolfSSL has; use e.g. TLS13-AES128-GCM-SHA256:TLS13-AES128-CCM-SHA256:TLS13-CHACHA20-POLY1305-SHA256", o->ciphers);
    wolfSSL_CTX_free(ctx);
    return NULL;
  }
  if (o->keylog && !keylog && open_keylog(o->keylog)) {
    wolfSSL_CTX_free(ctx);
    return NULL;
  }
  return ctx;
bad_cert:
  startup_error("cannot load --cert (a PEM certificate chain, leaf first)", o->cert);
  goto out;
bad_key:
  startup_error("cannot load --key (a PEM private key)", o->key);
  goto out;
bad_pair:
  startup_error("--key does not match the certificate in --cert", o->key);
  goto out;
bad_ca:
  startup_error("cannot load --ca (PEM CA certificates)", o->ca);
out:
  wolfSSL_CTX_free(ctx);
  return NULL;
}

int configure_connection(WOLFSSL *ssl, const bridge_options *o, int server) {
  if (keylog) wolfSSL_set_tls13_secret_cb(ssl, keylog_cb, NULL);
  if (!server && o->server_name) {
    wolfSSL_UseSNI(ssl, WOLFSSL_SNI_HOST_NAME, o->server_name, (unsigned short)strlen(o->server_name));
    /* The certificate must carry this DNS name (RFC 6125); the no-verify profile checks nothing. */
    if (!o->insecure_skip_verify && wolfSSL_check_domain_name(ssl, o->server_name) != WOLFSSL_SUCCESS) return -1;
  }
  if (server && !o->hrr_cookie && wolfSSL_disable_hrr_cookie(ssl) != WOLFSSL_SUCCESS) return -1;
  if (o->cid && wolfSSL_dtls_cid_use(ssl) != WOLFSSL_SUCCESS) return -1;
#ifdef WOLFSSL_DTLS_MTU
  wolfSSL_dtls_set_mtu(ssl, (unsigned short)o->mtu);
#endif
  /* Without --enable-dtls-mtu wolfSSL fragments handshake messages to its own MTU (1400 bytes
   * of record payload), so no datagram is IP-fragmented on a 1500-byte link. */
  return 0;
}
