#include "handshake-report.h"

#include <stdio.h>
#include <string.h>
#include <wolfssl/error-ssl.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "events.h"
#include "io.h"

const char *failure_reason(int err, int alert_rx) {
  switch (err) {
    case 0: return "handshake-timeout";
    case DOMAIN_NAME_MISMATCH: return "hostname-mismatch";
    case ASN_NO_SIGNER_E: return "unknown-ca";
    case ASN_AFTER_DATE_E:
    case ASN_BEFORE_DATE_E: return "expired";
    case NO_PEER_CERT: return "no-certificate";
    case ASN_SIG_CONFIRM_E:
    case VERIFY_CERT_ERROR:
    case VERIFY_SIGN_ERROR: return "bad-signature";
    case EXTKEYUSAGE_E:
    case EXTKEYUSE_AUTH_E: /* no serverAuth in the extended key usage (RFC 5280 §4.2.1.12) */
      return "bad-certificate";
    case ASN_SIG_HASH_E:
    case ASN_SIG_OID_E: return "insecure-algorithm";
    case VERSION_ERROR: return "protocol-version";
    case MATCH_SUITE_ERROR: return "no-shared-cipher";
    case PSK_KEY_ERROR:
    case VERIFY_FINISHED_ERROR:
    case VERIFY_MAC_ERROR:
    case DECRYPT_ERROR: return "psk-mismatch";
    default: break;
  }
  /* The peer refused us: name what its alert says (RFC 8446 §6.2). */
  switch (alert_rx) {
    case bad_certificate:
    case unsupported_certificate:
    case certificate_revoked:
    case certificate_expired:
    case certificate_unknown: return "bad-certificate";
    case unknown_ca: return "unknown-ca";
    case protocol_version: return "protocol-version";
    case decrypt_error: return "bad-signature";
    case handshake_failure: return "handshake-failure";
    case 116: return "no-certificate"; /* certificate_required, RFC 8446 §4.4.2.4 */
    default: break;
  }
  if (err == ASN_PARSE_E || err == BAD_CERT_MANAGER_ERROR) return "bad-certificate";
  return "other";
}

static void name_text(WOLFSSL_X509_NAME *name, char *out, int cap) {
  out[0] = 0;
  if (name) wolfSSL_X509_NAME_get_text_by_NID(name, NID_commonName, out, cap);
}

static void peer_certificate(WOLFSSL *ssl) {
  WOLFSSL_X509 *x = wolfSSL_get_peer_certificate(ssl);
  if (!x) return;
  char subject[256], issuer[256], json[1024], e1[300], e2[300], after[64] = "";
  int der_len = 0;
  const unsigned char *der = wolfSSL_X509_get_der(x, &der_len);
  unsigned char hash[WC_SHA256_DIGEST_SIZE];
  char hex[2 * WC_SHA256_DIGEST_SIZE + 1] = "";
  if (der && der_len > 0 && wc_Sha256Hash(der, (word32)der_len, hash) == 0)
    for (int i = 0; i < WC_SHA256_DIGEST_SIZE; i++) snprintf(hex + 2 * i, 3, "%02x", hash[i]);
  name_text(wolfSSL_X509_get_subject_name(x), subject, sizeof subject);
  name_text(wolfSSL_X509_get_issuer_name(x), issuer, sizeof issuer);
  WOLFSSL_ASN1_TIME *na = wolfSSL_X509_get_notAfter(x);
  if (na) wolfSSL_ASN1_TIME_to_string(na, after, sizeof after);
  snprintf(json, sizeof json, "{\"subjectCN\":\"%s\",\"issuerCN\":\"%s\",\"sha256\":\"%s\",\"notAfter\":\"%s\"}",
           json_escape(e1, sizeof e1, subject), json_escape(e2, sizeof e2, issuer), hex, after);
  ev_raw("peerCertificate", json);
  wolfSSL_X509_free(x);
}

static const char *early_status(WOLFSSL *ssl) {
  switch (wolfSSL_get_early_data_status(ssl)) {
    case WOLFSSL_EARLY_DATA_ACCEPTED: return "accepted";
    case WOLFSSL_EARLY_DATA_REJECTED: return "rejected";
    default: return "not-sent";
  }
}

void report_handshake(WOLFSSL *ssl, const handshake_facts *f) {
  const char *version = wolfSSL_get_version(ssl);
  unsigned char cid[32];
  unsigned cid_len = 0;
  ev_begin("handshake");
  ev_int("peerId", f->peer_id);
  if (f->remote) ev_str("remote", f->remote);
  if (f->local) ev_str("local", f->local);
  /* "DTLS 1.3" / "DTLS 1.2" / "TLS 1.3", the pion bridge's spelling */
  ev_str("version", strcmp(version, "DTLSv1.3") == 0 ? "DTLS 1.3" : strcmp(version, "DTLSv1.2") == 0 ? "DTLS 1.2" : strcmp(version, "TLSv1.3") == 0 ? "TLS 1.3" : version);
  ev_str("cipherSuite", wolfSSL_CIPHER_get_name(wolfSSL_get_current_cipher(ssl)));
  ev_bool("resumed", wolfSSL_session_reused(ssl));
  ev_int("durationMs", f->duration_ms);
  peer_certificate(ssl);
  datagram_io *io = wolfSSL_GetIOReadCtx(ssl);
  const char *psk = f->server ? (io ? io->psk_identity : NULL) : wolfSSL_get_psk_identity_hint(ssl);
  if (psk && *psk) ev_str("pskIdentity", psk);
  if (wolfSSL_dtls_cid_is_enabled(ssl) == WOLFSSL_SUCCESS) {
    ev_bool("connectionId", 1);
    if (wolfSSL_dtls_cid_get_tx_size(ssl, &cid_len) == WOLFSSL_SUCCESS && cid_len && cid_len <= sizeof cid &&
        wolfSSL_dtls_cid_get_tx(ssl, cid, cid_len) == WOLFSSL_SUCCESS)
      ev_hex("cidTx", cid, cid_len);
    if (wolfSSL_dtls_cid_get_rx_size(ssl, &cid_len) == WOLFSSL_SUCCESS && cid_len && cid_len <= sizeof cid &&
        wolfSSL_dtls_cid_get_rx(ssl, cid, cid_len) == WOLFSSL_SUCCESS)
      ev_hex("cidRx", cid, cid_len);
  }
  if (f->early_offered) {
    /* wolfSSL 5.5.4 says "accepted" even when a cookie HRR made the server drop the early records:
     * earlyDataBytes is what really went over (client) or arrived (server); judge by that. */
    ev_str("earlyDataStatus", early_status(ssl));
    ev_int("earlyDataBytes", f->early_bytes);
  }
  ev_end();
}

void report_failure(WOLFSSL *ssl, const handshake_facts *f, int err) {
  WOLFSSL_ALERT_HISTORY h;
  memset(&h, 0, sizeof h);
  if (ssl) wolfSSL_get_alert_history(ssl, &h);
  char text[WOLFSSL_MAX_ERROR_SZ] = "handshake timed out";
  if (err) wolfSSL_ERR_error_string_n((unsigned long)err, text, sizeof text);
  ev_begin("handshake-failed");
  ev_int("peerId", f->peer_id);
  if (f->remote) ev_str("remote", f->remote);
  ev_str("reason", failure_reason(err, h.last_rx.code));
  if (h.last_rx.code > 0) {
    char alert[96];
    snprintf(alert, sizeof alert, "%s: %d", h.last_rx.level == 2 ? "Fatal" : "Warning", h.last_rx.code);
    ev_str("alert", alert);
  }
  char error[WOLFSSL_MAX_ERROR_SZ + 32];
  snprintf(error, sizeof error, "%d %s", err, text);
  ev_str("error", error);
  ev_int("durationMs", f->duration_ms);
  ev_end();
}
