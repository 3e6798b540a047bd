@recipe-interception @mitm @certificate-validation
Feature: Certificate validation blocks a man-in-the-middle presenting forged certificates
  A MITM on the wearable's path to the cloud presents, case by case, every forged certificate of
  the catalogue (docs/architecture.md §6 PKI and forged certificates: tlspretense, certmitm, badssl) to every client, and we judge from
  both ends: the client's own error or the alert it sent, and every byte the MITM obtained.
  "blocked": the handshake failed at the client for the stated reason and the MITM got zero
  application bytes. "intercepted": the MITM read the MQTT CONNECT and the publishes, and still
  holds only 96-byte E3 ciphertext, because the cloud's key is not on the path (§17.6).
  Without a client identity for the cloud (mutual TLS) the MITM impersonates the broker.
  replaced-key (the genuine certificate with the attacker's key) is served by Go's crypto/tls,
  because OpenSSL will not load a key that does not belong to its certificate.
  The expected results were observed with bench/mitm-matrix.ts and reviewed case by case.

  Scenario Outline: "<client>" against a MITM presenting the "<case>" certificate: <result>
    Given a MITM on the wearable's path to the cloud presenting the "<case>" forged certificate
    When the "<client>" client publishes readings through it
    Then the interception is <result>
    And the client reports "<reason>"

    Examples: control: the MITM holds the cloud's genuine certificate and key (as if it had stolen them), so every client connects; a client that refused everything would fail here
      | case                      | client            | result      | reason |
      | genuine-cloud-certificate | secure            | intercepted | -      |
      | genuine-cloud-certificate | secure-crl        | intercepted | -      |
      | genuine-cloud-certificate | pinned            | intercepted | -      |
      | genuine-cloud-certificate | no-hostname-check | intercepted | -      |
      | genuine-cloud-certificate | no-verify         | intercepted | -      |

    @needs-mosquitto-clients @needs-openssl
    Examples: control, independent clients: the genuine certificate and key
      | case                      | client           | result      | reason |
      | genuine-cloud-certificate | mosquitto_pub    | intercepted | -      |
      | genuine-cloud-certificate | openssl-s_client | intercepted | -      |
      | genuine-cloud-certificate | openssl-strict   | intercepted | -      |

    Examples: secure: CA chain and server name verified, TLS 1.3, OpenSSL security level 2, but no revocation check, so a revoked certificate passes
      | case                              | client | result      | reason                                         |
      | self-signed                       | secure | blocked     | DEPTH_ZERO_SELF_SIGNED_CERT                    |
      | unknown-ca                        | secure | blocked     | UNABLE_TO_GET_ISSUER_CERT_LOCALLY              |
      | wrong-hostname-cn                 | secure | blocked     | ERR_TLS_CERT_ALTNAME_INVALID                   |
      | wrong-hostname-san                | secure | blocked     | ERR_TLS_CERT_ALTNAME_INVALID                   |
      | expired                           | secure | blocked     | CERT_HAS_EXPIRED                               |
      | not-yet-valid                     | secure | blocked     | CERT_NOT_YET_VALID                             |
      | expired-intermediate              | secure | blocked     | CERT_HAS_EXPIRED                               |
      | ca-false-intermediate             | secure | blocked     | key usage does not include certificate signing |
      | no-basic-constraints-intermediate | secure | blocked     | INVALID_CA                                     |
      | bad-signature                     | secure | blocked     | CERT_SIGNATURE_FAILURE                         |
      | replaced-key                      | secure | blocked     | bad signature                                  |
      | wrong-eku                         | secure | blocked     | INVALID_PURPOSE                                |
      | sha1-signature                    | secure | blocked     | CA signature digest algorithm too weak         |
      | md5-signature                     | secure | blocked     | CA signature digest algorithm too weak         |
      | rsa-1024                          | secure | blocked     | EE certificate key too weak                    |
      | unknown-critical-extension        | secure | blocked     | unhandled critical extension                   |
      | real-cert-other-name              | secure | blocked     | ERR_TLS_CERT_ALTNAME_INVALID                   |
      | revoked                           | secure | intercepted | -                                              |

    Examples: secure-crl: secure plus the CAs' revocation lists: refuses every forged certificate (the profile QA pins in CI)
      | case                              | client     | result      | reason                                         |
      | self-signed                       | secure-crl | blocked     | UNABLE_TO_GET_CRL                              |
      | unknown-ca                        | secure-crl | blocked     | UNABLE_TO_GET_CRL                              |
      | wrong-hostname-cn                 | secure-crl | blocked     | ERR_TLS_CERT_ALTNAME_INVALID                   |
      | wrong-hostname-san                | secure-crl | blocked     | ERR_TLS_CERT_ALTNAME_INVALID                   |
      | expired                           | secure-crl | blocked     | CERT_HAS_EXPIRED                               |
      | not-yet-valid                     | secure-crl | blocked     | CERT_NOT_YET_VALID                             |
      | expired-intermediate              | secure-crl | blocked     | CERT_HAS_EXPIRED                               |
      | ca-false-intermediate             | secure-crl | blocked     | key usage does not include certificate signing |
      | no-basic-constraints-intermediate | secure-crl | blocked     | UNABLE_TO_GET_CRL                              |
      | bad-signature                     | secure-crl | blocked     | CERT_SIGNATURE_FAILURE                         |
      | replaced-key                      | secure-crl | blocked     | bad signature                                  |
      | wrong-eku                         | secure-crl | blocked     | INVALID_PURPOSE                                |
      | sha1-signature                    | secure-crl | blocked     | CA signature digest algorithm too weak         |
      | md5-signature                     | secure-crl | blocked     | UNABLE_TO_GET_CRL                              |
      | rsa-1024                          | secure-crl | blocked     | EE certificate key too weak                    |
      | unknown-critical-extension        | secure-crl | blocked     | unhandled critical extension                   |
      | real-cert-other-name              | secure-crl | blocked     | ERR_TLS_CERT_ALTNAME_INVALID                   |
      | revoked                           | secure-crl | blocked     | CERT_REVOKED                                   |

    Examples: pinned: secure plus an SPKI pin of the cloud key (RFC 7469): a certificate with any other key is refused, revoked or not
      | case                              | client | result      | reason                                         |
      | self-signed                       | pinned | blocked     | DEPTH_ZERO_SELF_SIGNED_CERT                    |
      | unknown-ca                        | pinned | blocked     | UNABLE_TO_GET_ISSUER_CERT_LOCALLY              |
      | wrong-hostname-cn                 | pinned | blocked     | ERR_TLS_CERT_ALTNAME_INVALID                   |
      | wrong-hostname-san                | pinned | blocked     | ERR_TLS_CERT_ALTNAME_INVALID                   |
      | expired                           | pinned | blocked     | CERT_HAS_EXPIRED                               |
      | not-yet-valid                     | pinned | blocked     | CERT_NOT_YET_VALID                             |
      | expired-intermediate              | pinned | blocked     | CERT_HAS_EXPIRED                               |
      | ca-false-intermediate             | pinned | blocked     | key usage does not include certificate signing |
      | no-basic-constraints-intermediate | pinned | blocked     | INVALID_CA                                     |
      | bad-signature                     | pinned | blocked     | CERT_SIGNATURE_FAILURE                         |
      | replaced-key                      | pinned | blocked     | bad signature                                  |
      | wrong-eku                         | pinned | blocked     | INVALID_PURPOSE                                |
      | sha1-signature                    | pinned | blocked     | CA signature digest algorithm too weak         |
      | md5-signature                     | pinned | blocked     | CA signature digest algorithm too weak         |
      | rsa-1024                          | pinned | blocked     | EE certificate key too weak                    |
      | unknown-critical-extension        | pinned | blocked     | unhandled critical extension                   |
      | real-cert-other-name              | pinned | blocked     | ERR_TLS_CERT_ALTNAME_INVALID                   |
      | revoked                           | pinned | blocked     | ERR_SPKI_PIN_MISMATCH                          |

    Examples: no-hostname-check: chain verified, name not: any certificate the CA issued, to anyone, impersonates the cloud
      | case                              | client            | result      | reason                                         |
      | self-signed                       | no-hostname-check | blocked     | DEPTH_ZERO_SELF_SIGNED_CERT                    |
      | unknown-ca                        | no-hostname-check | blocked     | UNABLE_TO_GET_ISSUER_CERT_LOCALLY              |
      | wrong-hostname-cn                 | no-hostname-check | intercepted | -                                              |
      | wrong-hostname-san                | no-hostname-check | intercepted | -                                              |
      | expired                           | no-hostname-check | blocked     | CERT_HAS_EXPIRED                               |
      | not-yet-valid                     | no-hostname-check | blocked     | CERT_NOT_YET_VALID                             |
      | expired-intermediate              | no-hostname-check | blocked     | CERT_HAS_EXPIRED                               |
      | ca-false-intermediate             | no-hostname-check | blocked     | key usage does not include certificate signing |
      | no-basic-constraints-intermediate | no-hostname-check | blocked     | INVALID_CA                                     |
      | bad-signature                     | no-hostname-check | blocked     | CERT_SIGNATURE_FAILURE                         |
      | replaced-key                      | no-hostname-check | blocked     | bad signature                                  |
      | wrong-eku                         | no-hostname-check | blocked     | INVALID_PURPOSE                                |
      | sha1-signature                    | no-hostname-check | blocked     | CA signature digest algorithm too weak         |
      | md5-signature                     | no-hostname-check | blocked     | CA signature digest algorithm too weak         |
      | rsa-1024                          | no-hostname-check | blocked     | EE certificate key too weak                    |
      | unknown-critical-extension        | no-hostname-check | blocked     | unhandled critical extension                   |
      | real-cert-other-name              | no-hostname-check | intercepted | -                                              |
      | revoked                           | no-hostname-check | intercepted | -                                              |

    Examples: no-verify: rejectUnauthorized false, the "disabled during testing" pitfall (§17.5): any certificate whose key the attacker holds is accepted
      | case                              | client    | result      | reason        |
      | self-signed                       | no-verify | intercepted | -             |
      | unknown-ca                        | no-verify | intercepted | -             |
      | wrong-hostname-cn                 | no-verify | intercepted | -             |
      | wrong-hostname-san                | no-verify | intercepted | -             |
      | expired                           | no-verify | intercepted | -             |
      | not-yet-valid                     | no-verify | intercepted | -             |
      | expired-intermediate              | no-verify | intercepted | -             |
      | ca-false-intermediate             | no-verify | intercepted | -             |
      | no-basic-constraints-intermediate | no-verify | intercepted | -             |
      | bad-signature                     | no-verify | intercepted | -             |
      | replaced-key                      | no-verify | blocked     | bad signature |
      | wrong-eku                         | no-verify | intercepted | -             |
      | sha1-signature                    | no-verify | intercepted | -             |
      | md5-signature                     | no-verify | intercepted | -             |
      | rsa-1024                          | no-verify | intercepted | -             |
      | unknown-critical-extension        | no-verify | intercepted | -             |
      | real-cert-other-name              | no-verify | intercepted | -             |
      | revoked                           | no-verify | intercepted | -             |

    @needs-mosquitto-clients
    Examples: mosquitto_pub: Debian mosquitto-clients connecting by address (-h 127.0.0.1): it verifies the address it was given, so the gateway's genuine certificate (valid for 127.0.0.1) passes, and it cannot check revocation
      | case                              | client        | result      | reason                        |
      | self-signed                       | mosquitto_pub | blocked     | alert unknown ca              |
      | unknown-ca                        | mosquitto_pub | blocked     | alert unknown ca              |
      | wrong-hostname-cn                 | mosquitto_pub | blocked     | alert internal error          |
      | wrong-hostname-san                | mosquitto_pub | blocked     | alert internal error          |
      | expired                           | mosquitto_pub | blocked     | alert certificate expired     |
      | not-yet-valid                     | mosquitto_pub | blocked     | alert bad certificate         |
      | expired-intermediate              | mosquitto_pub | blocked     | alert certificate expired     |
      | ca-false-intermediate             | mosquitto_pub | blocked     | alert unknown ca              |
      | no-basic-constraints-intermediate | mosquitto_pub | blocked     | alert unknown ca              |
      | bad-signature                     | mosquitto_pub | blocked     | alert decrypt error           |
      | replaced-key                      | mosquitto_pub | blocked     | A TLS error occurred          |
      | wrong-eku                         | mosquitto_pub | blocked     | alert unsupported certificate |
      | sha1-signature                    | mosquitto_pub | blocked     | alert bad certificate         |
      | md5-signature                     | mosquitto_pub | blocked     | alert bad certificate         |
      | rsa-1024                          | mosquitto_pub | blocked     | alert bad certificate         |
      | unknown-critical-extension        | mosquitto_pub | blocked     | alert certificate unknown     |
      | real-cert-other-name              | mosquitto_pub | intercepted | -                             |
      | revoked                           | mosquitto_pub | intercepted | -                             |

    @needs-openssl
    Examples: openssl-s_client: the source chapter's E4 command line (§17.3.1) verbatim: s_client prints the verification error and carries on, so it talks to every attacker that holds its key
      | case                              | client           | result      | reason                                 |
      | self-signed                       | openssl-s_client | intercepted | self-signed certificate                |
      | unknown-ca                        | openssl-s_client | intercepted | unable to get local issuer certificate |
      | wrong-hostname-cn                 | openssl-s_client | intercepted | -                                      |
      | wrong-hostname-san                | openssl-s_client | intercepted | -                                      |
      | expired                           | openssl-s_client | intercepted | certificate has expired                |
      | not-yet-valid                     | openssl-s_client | intercepted | certificate is not yet valid           |
      | expired-intermediate              | openssl-s_client | intercepted | certificate has expired                |
      | ca-false-intermediate             | openssl-s_client | intercepted | invalid CA certificate                 |
      | no-basic-constraints-intermediate | openssl-s_client | intercepted | invalid CA certificate                 |
      | bad-signature                     | openssl-s_client | intercepted | certificate signature failure          |
      | replaced-key                      | openssl-s_client | blocked     | bad signature                          |
      | wrong-eku                         | openssl-s_client | intercepted | unsuitable certificate purpose         |
      | sha1-signature                    | openssl-s_client | intercepted | CA signature digest algorithm too weak |
      | md5-signature                     | openssl-s_client | intercepted | CA signature digest algorithm too weak |
      | rsa-1024                          | openssl-s_client | intercepted | EE certificate key too weak            |
      | unknown-critical-extension        | openssl-s_client | intercepted | unhandled critical extension           |
      | real-cert-other-name              | openssl-s_client | intercepted | -                                      |
      | revoked                           | openssl-s_client | intercepted | -                                      |

    @needs-openssl
    Examples: openssl-strict: the same line plus -verify_return_error -verify_hostname and -crl_check: refuses every forged certificate
      | case                              | client         | result      | reason                                 |
      | self-signed                       | openssl-strict | blocked     | self-signed certificate                |
      | unknown-ca                        | openssl-strict | blocked     | unable to get local issuer certificate |
      | wrong-hostname-cn                 | openssl-strict | blocked     | hostname mismatch                      |
      | wrong-hostname-san                | openssl-strict | blocked     | hostname mismatch                      |
      | expired                           | openssl-strict | blocked     | certificate has expired                |
      | not-yet-valid                     | openssl-strict | blocked     | certificate is not yet valid           |
      | expired-intermediate              | openssl-strict | blocked     | unable to get certificate CRL          |
      | ca-false-intermediate             | openssl-strict | blocked     | invalid CA certificate                 |
      | no-basic-constraints-intermediate | openssl-strict | blocked     | invalid CA certificate                 |
      | bad-signature                     | openssl-strict | blocked     | certificate signature failure          |
      | replaced-key                      | openssl-strict | blocked     | bad signature                          |
      | wrong-eku                         | openssl-strict | blocked     | unsuitable certificate purpose         |
      | sha1-signature                    | openssl-strict | blocked     | CA signature digest algorithm too weak |
      | md5-signature                     | openssl-strict | blocked     | CA signature digest algorithm too weak |
      | rsa-1024                          | openssl-strict | blocked     | EE certificate key too weak            |
      | unknown-critical-extension        | openssl-strict | blocked     | unhandled critical extension           |
      | real-cert-other-name              | openssl-strict | blocked     | hostname mismatch                      |
      | revoked                           | openssl-strict | blocked     | certificate revoked                    |
