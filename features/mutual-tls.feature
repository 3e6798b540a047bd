@recipe-mutual-tls @mtls
Feature: Mutual TLS: the broker admits only devices that prove their own identity
  "Mutual TLS (mTLS): both client and server certs — strong device authentication" (source
  chapter §17.7). The broker takes a device's identity from the certificate it verified, so a
  device without a certificate, with one from another CA, or with a certificate whose key it
  does not hold — which is all a man-in-the-middle has of its victim — is refused in the TLS
  handshake, before any MQTT byte, and nothing reaches the cloud service.

  Both brokers run on OpenSSL and refuse every forged credential; they differ in how they say
  so. Mosquitto logs OpenSSL's own error and lets OpenSSL refuse in the handshake with the
  alert RFC 8446 §6.2 names (unknown_ca for another CA). Aedes on node:tls accepts any chain
  during the handshake (node's verify callback defers to JavaScript) and, when the chain does not
  verify, closes the connection without an alert, logging node's error code instead. In TLS 1.3
  these alerts are encrypted (RFC 8446 §5.2): they are read from the capture of the probe's
  link with the probe's own key log.

  Background:
    Given a cloud broker that requires client certificates, with wearable-0001 and wearable-0002 provisioned

  Scenario: A genuine device with its own certificate and key is admitted
    When a device connects to the cloud broker as wearable-0001 with its own certificate and key and publishes a reading
    Then the cloud broker accepts the session as wearable-0001 and the cloud audits its reading

  Scenario Outline: A device presenting <credential> is refused
    When a device connects to the cloud broker as wearable-0001 with <credential> and publishes a reading
    Then the cloud broker refuses the TLS handshake because "<reason at Aedes>" on Aedes or "<reason at Mosquitto>" on Mosquitto
    And the broker's alert on the probe's link is <alert from Aedes> from Aedes or <alert from Mosquitto> from Mosquitto
    And nothing reached the cloud service

    Examples:
      | credential                    | reason at Aedes                   | alert from Aedes     | reason at Mosquitto               | alert from Mosquitto |
      | no client certificate         | peer did not return a certificate | certificate_required | peer did not return a certificate | certificate_required |
      | a certificate from another CA | UNABLE_TO_GET_ISSUER_CERT_LOCALLY | none                 | certificate verify failed         | unknown_ca           |

    @needs-go
    Examples: certificates whose key the presenter does not hold (served by Go's crypto/tls)
      | credential                                           | reason at Aedes | alert from Aedes | reason at Mosquitto | alert from Mosquitto |
      | wearable-0002's certificate with wearable-0001's key | bad signature   | decrypt_error    | bad signature       | decrypt_error        |
      | wearable-0001's certificate with an attacker's key   | bad signature   | decrypt_error    | bad signature       | decrypt_error        |
