@up @recipe-up
Feature: Bring your own client to a running testbed
  A security team starts the testbed with `testbed up` (the same `up()` the TypeScript API
  offers) and points its own tools at the endpoints it prints, on 127.0.0.1: mosquitto_pub with
  a genuine E3 packet from `testbed seal`, mosquitto_sub with a device certificate, and the
  source chapter's own `openssl s_client … -tls1_3 -ciphersuites …` line (§17.3.1). What the
  gateway, the MITM and the cloud make of them is read from their own records and the captures.

  @needs-mosquitto-clients
  Scenario: mosquitto_pub sends a sealed reading through the gateway and the cloud accepts it
    Given the testbed is up with 1 wearable and a device reserved for external clients
    When an external publisher seals a reading with hr=72,spo2=98 for the reserved device
    And it sends the packet with mosquitto_pub to the gateway
    Then the cloud's audit accepts the reserved device's packet with the sealed sequence and a heart rate of 72
    And the gateway's capture of the device link holds the publish only as TLS records

  @needs-mosquitto-clients
  Scenario: mosquitto_sub with another device's certificate gets nothing of a foreign topic
    Given the testbed is up with 1 wearable and a device reserved for external clients
    When mosquitto_sub with the reserved device's certificate subscribes to wearable-0001's topic at the cloud broker
    And wearable-0001 sends 1 reading through the gateway
    Then the cloud's audit accepts wearable-0001's reading
    And mosquitto_sub received no message
    And the broker's own record shows it kept wearable-0001's reading from that subscriber

  @needs-openssl
  Scenario: The source chapter's s_client line against the cloud broker verifies it and negotiates TLS 1.3
    Given the testbed is up with 1 wearable and a device reserved for external clients
    When the source chapter's openssl s_client line connects to the cloud broker with the reserved device's certificate
    Then s_client negotiated TLS 1.3 with one of the two suites the line offers and verified the certificate

  @needs-openssl @gateway-cloud
  Scenario: Through a MITM on the gateway→cloud link the chapter's s_client line is intercepted
    Given the testbed is up with 1 wearable and a MITM on the gateway→cloud link presenting a self-signed certificate
    When the source chapter's openssl s_client line connects to the MITM on the gateway→cloud link with the reserved device's certificate
    Then s_client reports "self-signed certificate" and carries on
    And the MITM's records show it completed the TLS handshake with s_client

  @up-delayed-link
  Scenario: A delayed device link: every round trip of the wearable's handshake takes at least 50 ms
    Given the testbed is up with 1 wearable and a device link delayed by 25 ms each way
    When wearable-0001 sends 1 reading through the gateway
    Then the cloud's audit accepts wearable-0001's reading
    And in the device link's capture every round trip of the wearable's handshake takes at least 50 ms, TCP's SYN → SYN-ACK included

  @needs-openssl @up-device-mitm
  Scenario: Through a MITM on the device link the wearable refuses the forged certificate and the chapter's s_client line is intercepted
    Given the testbed is up with 1 wearable and a MITM on the device link presenting a self-signed certificate
    When wearable-0001 tries to send 1 reading through the MITM on the device link
    Then wearable-0001's own record shows it refused the MITM's certificate as "self-signed certificate"
    And the cloud's audit holds nothing from wearable-0001
    When the source chapter's openssl s_client line connects to the MITM on the device link with the reserved device's certificate
    Then s_client reports "self-signed certificate" and carries on
    And the MITM's records show it completed the TLS handshake with s_client
    And the gateway's own record shows the MITM connected onward with the reserved device's certificate
