@recipe-dtls13-interception @mitm @dtls @dtls13 @needs-wolfssl
Feature: Certificate validation blocks a DTLS 1.3 MITM — the forged-certificate matrix over DTLS 1.3
  The DTLS 1.2 matrix (mitm-certificate-validation-dtls.feature) over DTLS 1.3 (RFC 9147): the
  MITM is a wolfSSL bridge server presenting one forged certificate from the catalogue
  (certs/forged-catalogue.ts), and the victim is wearable-0001's wolfSSL bridge client, checking
  the chain and the name ("secure") or with verification off ("no-verify"). Blocked: the
  client's handshake failed, with its reason, and the MITM decrypted nothing. Intercepted: the MITM
  read the datagrams, and they are still E3 ciphertext, sealed for the cloud. The same steps judge
  both versions. In DTLS 1.3 the server's certificate travels encrypted (after the ServerHello),
  so a passive observer no longer sees which certificate was presented; the client still must
  check it.

  What the rows record, found in real runs (wolfSSL 5.5.4 from Debian's source, built with the
  recipe's flags, no CRL support):
  - The "secure" wolfSSL client accepts certificates signed with SHA-1 and with MD5, and a 1024-bit
    RSA server key: wolfSSL 5.5.4's defaults allow all three (pion refuses them, if for other
    reasons). A device on wolfSSL needs its own minimum key size and signature policy.
  - As with pion there is no revocation checking without CRL or OCSP support built in: a revoked
    certificate is accepted.
  - An expired intermediate is refused as a verification failure with no signer ("unknown-ca"),
    not as "expired"; a broken signature is named precisely ("bad-signature").
  - The replaced-key case (the genuine certificate with the attacker's key) is refused by both
    clients: the CertificateVerify (RFC 8446 §4.4.3) does not verify under the certificate's key,
    whether or not the chain is checked.
  - unknown-critical-extension has no row: wolfSSL's own server refuses to load a certificate with
    an unknown critical extension, and no other DTLS 1.3 server is available here to present it.
  - There is no genuine-certificate control row (the DTLS MITM presents catalogue cases only); the
    "revoked" and weak-signature rows, where the "secure" client connects to a certificate of the
    genuine CA, show that the client is not refusing everything.

  Scenario Outline: A DTLS 1.3 MITM presenting "<forged>" to the "<client>" DTLS client is <result>
    Given a DTLS 1.3 MITM on the wearable's path to the cloud presenting the "<forged>" forged certificate
    When the "<client>" DTLS client sends readings through it
    Then the DTLS interception is <result>
    And the DTLS client reports "<reason>"
    And the capture beside the DTLS client shows DTLS 1.3 selected

    Examples:
      | forged                            | client    | result      | reason            |
      | self-signed                       | secure    | blocked     | unknown-ca        |
      | self-signed                       | no-verify | intercepted | -                 |
      | unknown-ca                        | secure    | blocked     | unknown-ca        |
      | unknown-ca                        | no-verify | intercepted | -                 |
      | wrong-hostname-cn                 | secure    | blocked     | hostname-mismatch |
      | wrong-hostname-cn                 | no-verify | intercepted | -                 |
      | wrong-hostname-san                | secure    | blocked     | hostname-mismatch |
      | wrong-hostname-san                | no-verify | intercepted | -                 |
      | expired                           | secure    | blocked     | expired           |
      | expired                           | no-verify | intercepted | -                 |
      | not-yet-valid                     | secure    | blocked     | expired           |
      | not-yet-valid                     | no-verify | intercepted | -                 |
      | expired-intermediate              | secure    | blocked     | unknown-ca        |
      | expired-intermediate              | no-verify | intercepted | -                 |
      | ca-false-intermediate             | secure    | blocked     | unknown-ca        |
      | ca-false-intermediate             | no-verify | intercepted | -                 |
      | no-basic-constraints-intermediate | secure    | blocked     | unknown-ca        |
      | no-basic-constraints-intermediate | no-verify | intercepted | -                 |
      | bad-signature                     | secure    | blocked     | bad-signature     |
      | bad-signature                     | no-verify | intercepted | -                 |
      | replaced-key                      | secure    | blocked     | bad-signature     |
      | replaced-key                      | no-verify | blocked     | bad-signature     |
      | wrong-eku                         | secure    | blocked     | bad-certificate   |
      | wrong-eku                         | no-verify | intercepted | -                 |
      | sha1-signature                    | secure    | intercepted | -                 |
      | sha1-signature                    | no-verify | intercepted | -                 |
      | md5-signature                     | secure    | intercepted | -                 |
      | md5-signature                     | no-verify | intercepted | -                 |
      | rsa-1024                          | secure    | intercepted | -                 |
      | rsa-1024                          | no-verify | intercepted | -                 |
      | real-cert-other-name              | secure    | blocked     | hostname-mismatch |
      | real-cert-other-name              | no-verify | intercepted | -                 |
      | revoked                           | secure    | intercepted | -                 |
      | revoked                           | no-verify | intercepted | -                 |
