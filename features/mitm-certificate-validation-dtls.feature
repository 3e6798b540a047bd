@recipe-dtls-interception @mitm @dtls @needs-go @needs-openssl
Feature: Certificate validation blocks a DTLS MITM — the forged-certificate matrix over DTLS 1.2
  The TLS matrix (mitm-certificate-validation.feature) over the source chapter's device link:
  DTLS 1.2 over UDP. A DTLS MITM (a dtls-bridge server) presents one forged certificate from the
  catalogue (certs/forged-catalogue.ts) to one DTLS client: the project's pion bridge client
  checking the chain and the name ("secure"), the same client with --insecure-skip-verify
  ("no-verify"), and openssl s_client -dtls1_2 with -verify_return_error, -verify_hostname and the
  run's CRL ("openssl-dtls-strict"). Blocked: the client's handshake failed, with its reason, and
  the MITM decrypted nothing. Intercepted: the MITM read the datagrams, and they are still E3
  ciphertext, sealed for the cloud.

  What the rows record, found in real runs (pion/dtls 2.2.6, OpenSSL 3.0):
  - pion has no revocation checking: a revoked certificate is accepted by the "secure" pion
    client. Only the CRL-checking OpenSSL client refuses it. A device on DTLS needs OCSP stapling
    or short-lived certificates for revocation to mean anything.
  - pion checks the ServerKeyExchange signature even with verification off, so "replaced-key"
    (the genuine certificate with the attacker's key, served by the bridge with
    --unchecked-key-pair) is refused by every client, "no-verify" included.
  - pion verifies an RSA ServerKeyExchange signature only when the certificate itself is signed
    with SHA-x-with-RSA; an RSA certificate issued by the ECDSA CA ("rsa-1024") or signed with MD5
    ("md5-signature") is refused as "unimplemented" — blocked, but not for the reason the case
    is about, and by "no-verify" too.
  - Every other failure is signalled to the MITM with a bad_certificate alert: the precise reason
    exists only at the client.

  Scenario Outline: A DTLS MITM presenting "<forged>" to the "<client>" DTLS client is <result>
    Given a DTLS MITM on the wearable's path to the cloud presenting the "<forged>" forged certificate
    When the "<client>" DTLS client sends readings through it
    Then the DTLS interception is <result>
    And the DTLS client reports "<reason>"

    Examples:
      | forged                            | client              | result      | reason                                        |
      | self-signed                       | secure              | blocked     | unknown-ca                                    |
      | self-signed                       | no-verify           | intercepted | -                                             |
      | self-signed                       | openssl-dtls-strict | blocked     | self-signed certificate                       |
      | unknown-ca                        | secure              | blocked     | unknown-ca                                    |
      | unknown-ca                        | no-verify           | intercepted | -                                             |
      | unknown-ca                        | openssl-dtls-strict | blocked     | unable to get local issuer certificate        |
      | wrong-hostname-cn                 | secure              | blocked     | hostname-mismatch                             |
      | wrong-hostname-cn                 | no-verify           | intercepted | -                                             |
      | wrong-hostname-cn                 | openssl-dtls-strict | blocked     | hostname mismatch                             |
      | wrong-hostname-san                | secure              | blocked     | hostname-mismatch                             |
      | wrong-hostname-san                | no-verify           | intercepted | -                                             |
      | wrong-hostname-san                | openssl-dtls-strict | blocked     | hostname mismatch                             |
      | expired                           | secure              | blocked     | expired                                       |
      | expired                           | no-verify           | intercepted | -                                             |
      | expired                           | openssl-dtls-strict | blocked     | certificate has expired                       |
      | not-yet-valid                     | secure              | blocked     | expired                                       |
      | not-yet-valid                     | no-verify           | intercepted | -                                             |
      | not-yet-valid                     | openssl-dtls-strict | blocked     | certificate is not yet valid                  |
      | expired-intermediate              | secure              | blocked     | expired                                       |
      | expired-intermediate              | no-verify           | intercepted | -                                             |
      | expired-intermediate              | openssl-dtls-strict | blocked     | unable to get certificate CRL                 |
      | ca-false-intermediate             | secure              | blocked     | unknown-ca                                    |
      | ca-false-intermediate             | no-verify           | intercepted | -                                             |
      | ca-false-intermediate             | openssl-dtls-strict | blocked     | invalid CA certificate                        |
      | no-basic-constraints-intermediate | secure              | blocked     | unknown-ca                                    |
      | no-basic-constraints-intermediate | no-verify           | intercepted | -                                             |
      | no-basic-constraints-intermediate | openssl-dtls-strict | blocked     | invalid CA certificate                        |
      | bad-signature                     | secure              | blocked     | unknown-ca                                    |
      | bad-signature                     | no-verify           | intercepted | -                                             |
      | bad-signature                     | openssl-dtls-strict | blocked     | certificate signature failure                 |
      | replaced-key                      | secure              | blocked     | bad-signature                                 |
      | replaced-key                      | no-verify           | blocked     | bad-signature                                 |
      | replaced-key                      | openssl-dtls-strict | blocked     | bad signature                                 |
      | wrong-eku                         | secure              | blocked     | bad-certificate                               |
      | wrong-eku                         | no-verify           | intercepted | -                                             |
      | wrong-eku                         | openssl-dtls-strict | blocked     | unsuitable certificate purpose                |
      | sha1-signature                    | secure              | blocked     | unknown-ca                                    |
      | sha1-signature                    | no-verify           | intercepted | -                                             |
      | sha1-signature                    | openssl-dtls-strict | blocked     | CA signature digest algorithm too weak        |
      | md5-signature                     | secure              | blocked     | unable to verify key signature, unimplemented |
      | md5-signature                     | no-verify           | blocked     | unable to verify key signature, unimplemented |
      | md5-signature                     | openssl-dtls-strict | blocked     | CA signature digest algorithm too weak        |
      | rsa-1024                          | secure              | blocked     | unable to verify key signature, unimplemented |
      | rsa-1024                          | no-verify           | blocked     | unable to verify key signature, unimplemented |
      | rsa-1024                          | openssl-dtls-strict | blocked     | EE certificate key too weak                   |
      | unknown-critical-extension        | secure              | blocked     | unhandled critical extension                  |
      | unknown-critical-extension        | no-verify           | intercepted | -                                             |
      | unknown-critical-extension        | openssl-dtls-strict | blocked     | unhandled critical extension                  |
      | real-cert-other-name              | secure              | blocked     | hostname-mismatch                             |
      | real-cert-other-name              | no-verify           | intercepted | -                                             |
      | real-cert-other-name              | openssl-dtls-strict | blocked     | hostname mismatch                             |
      | revoked                           | secure              | intercepted | -                                             |
      | revoked                           | no-verify           | intercepted | -                                             |
      | revoked                           | openssl-dtls-strict | blocked     | certificate revoked                           |
