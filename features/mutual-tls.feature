@recipe-mutual-tls @mtls
Feature: Mutual TLS: the broker admits only devices that prove their own identity
  "Mutual TLS (mTLS): both client and server certs — strong device authentication" (source
  chapter §17.7). The broker takes a device's identity from the certificate it verified, so a
  device without a certificate, with one from another CA, or with a certificate whose key it
  does not hold — which is all a man-in-the-middle has of its victim — is refused in the TLS
  handshake, before any MQTT byte, and nothing reaches the cloud service.

  Background:
    Given a cloud broker that requires client certificates, with wearable-0001 and wearable-0002 provisioned

  Scenario: A genuine device with its own certificate and key is admitted
    When a device connects to the cloud broker as wearable-0001 with its own certificate and key and publishes a reading
    Then the cloud broker accepts the session as wearable-0001 and the cloud audits its reading

  Scenario Outline: A device presenting <credential> is refused
    When a device connects to the cloud broker as wearable-0001 with <credential> and publishes a reading
    Then the cloud broker refuses the TLS handshake because "<reason at the broker>"
    And nothing reached the cloud service

    Examples:
      | credential                                        | reason at the broker               |
      | no client certificate                             | peer did not return a certificate  |
      | a certificate from another CA                     | UNABLE_TO_GET_ISSUER_CERT_LOCALLY  |

    @needs-go
    Examples: certificates whose key the presenter does not hold (served by Go's crypto/tls)
      | credential                                        | reason at the broker               |
      | wearable-0002's certificate with wearable-0001's key | bad signature                   |
      | wearable-0001's certificate with an attacker's key   | bad signature                   |
