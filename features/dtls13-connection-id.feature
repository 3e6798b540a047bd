@recipe-dtls13-reporting @dtls @dtls13 @dtls13-cid @needs-wolfssl
Feature: DTLS 1.3 Connection IDs keep a session alive across a NAT rebinding
  A home router's NAT may give a device's UDP flow a new outside port in the middle of a session
  (RFC 9146 §1). Without a Connection ID a DTLS server knows its peers by address alone, so the
  records from the new port belong to nobody and are dropped; the device hears nothing back and
  must handshake again. With a Connection ID (RFC 9146, RFC 9147 §9) every record names its
  association, and the server moves the association to the new address once a record from there
  decrypts.

  wearable-0001 speaks DTLS 1.3 (wolfSSL bridge) to the home gateway that strips DTLS, over a
  device link with a 50 ms round trip whose NAT gives the flow a new outside port after 8
  datagrams (links/impairments.ts `rebind`: the gateway sees the new port, the wearable's own
  socket stays). Here the gateway is the DTLS server, so it is the gateway's bridge that reports the
  address change. The wearable sends a reading, and resends an unacknowledged one, every 300 ms,
  and handshakes again when a reading goes unacknowledged 4 times (1.2 s of silence; its resend
  budget is 8). The capture is beside the wearable; the cloud's audit says what arrived.
  Records towards the gateway carry its 2-byte Connection ID, which the capture parser is told.

  Background:
    Given a cloud broker with mutual TLS and the cloud service
    And 1 wearable with the "secure" profile
    And wearable-0001 handshakes again when a reading goes unacknowledged 4 times
    And the device link has a 50 ms round trip and its NAT gives the device a new UDP port after 8 datagrams

  Scenario: With Connection IDs the session survives the NAT rebinding: no new handshake, every reading accepted
    Given the wearables reach the cloud over DTLS 1.3 through a gateway that strips DTLS, with Connection IDs
    When wearable-0001 reports 12 readings
    Then the device-gateway link gave the device a new port once, mid-session
    And the gateway's DTLS bridge moved wearable-0001's session to its new address 1 time and completed 1 handshake
    And wearable-0001 handshook again 0 times
    And every reading from wearable-0001 is accepted exactly once, and every other copy is a resend rejected as "replay"
    And the device-gateway capture shows 1 full DTLS 1.3 handshake, each from its own device port
    And on the "esp32" profile the rebinding cost 0 extra DTLS 1.3 handshakes, by the round trips in the capture

  Scenario: Without Connection IDs the device must handshake again after the NAT rebinding
    Given the wearables reach the cloud over DTLS 1.3 through a gateway that strips DTLS, without Connection IDs
    When wearable-0001 reports 12 readings
    Then the device-gateway link gave the device a new port once, mid-session
    And the gateway's DTLS bridge moved wearable-0001's session to its new address 0 times and completed 2 handshakes
    And wearable-0001 handshook again 1 time
    And every reading from wearable-0001 is accepted exactly once, and every other copy is a resend rejected as "replay"
    And the device-gateway capture shows 2 full DTLS 1.3 handshakes, each from its own device port
    And on the "esp32" profile the rebinding cost 1 extra DTLS 1.3 handshake, by the round trips in the capture
