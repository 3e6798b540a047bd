@recipe-independent-dtls-peer @dtls @needs-go @needs-openssl
Feature: An independent DTLS peer — openssl s_client against the testbed's pion endpoints
  The testbed's DTLS is pion/dtls v2 through the project's dtls-bridge. So that DTLS is not only
  pion judging pion, Debian's OpenSSL 3.0 talks to it with its own code: `openssl s_client
  -dtls1_2 -verify_return_error -verify_hostname cloud.testbed.local` (without
  -verify_return_error s_client reports a failed verification and carries on).

  Scenario: openssl s_client completes DTLS 1.2 with the cloud's endpoint and delivers a sealed reading
    When openssl s_client -dtls1_2 with wearable-0001's certificate sends one sealed reading to the cloud's DTLS endpoint
    Then s_client verified the cloud's certificate and completed a DTLS 1.2 handshake
    And the cloud accepted the reading from wearable-0001, delivered under its certificate, and s_client received the acknowledgement
    And the capture beside s_client holds only DTLS records, and never the reading's E3 packet in clear

  @mitm
  Scenario: openssl s_client refuses a DTLS MITM presenting a self-signed certificate
    Given a DTLS MITM on the wearable's path to the cloud presenting the "self-signed" forged certificate
    When the "openssl-dtls-strict" DTLS client sends readings through it
    Then the DTLS interception is blocked
    And the DTLS client reports "self-signed certificate"
