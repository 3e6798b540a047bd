@recipe-reporting @e3 @gateway-malice
Feature: A gateway that holds back and reorders readings cannot make the cloud accept a stale one
  The patient's home router decides when each reading moves on (source chapter §17.6). E3 puts an
  authenticated timestamp and sequence number in every packet (docs/architecture.md §4 The E3 packet), so the cloud judges
  a reading by when the wearable sealed it, not by when the gateway let it go: held past the
  cloud's skew window (±300 s) it is rejected as stale; held within it, or swapped with the next
  reading, it is accepted, and the audit log shows the order it arrived in. Time is compressed
  (600 simulated seconds per wall second), so "ten minutes" takes one second.

  Background:
    Given a cloud broker with mutual TLS and the cloud service
    And 1 wearable with the "secure" profile

  Scenario: A reading held for ten minutes, past the cloud's skew window, is rejected as stale
    Given the wearables reach the cloud through a gateway that terminates TLS and holds reading 3 for 600 seconds
    When wearable-0001 reports 6 readings
    And the gateway has let go of every reading it held
    Then the cloud rejects reading 3 from wearable-0001 as "stale timestamp"
    And the cloud accepts every other reading from wearable-0001 exactly once, and rejects nothing else
    And the audit log shows reading 3 of wearable-0001 arriving after reading 6

  Scenario: A reading held for two minutes, within the skew window, is accepted late
    Given the wearables reach the cloud through a gateway that terminates TLS and holds reading 3 for 120 seconds
    When wearable-0001 reports 6 readings
    And the gateway has let go of every reading it held
    Then the cloud opens 6 of 6 readings from wearable-0001 with the values the wearable sent
    And the audit log shows reading 3 of wearable-0001 arriving after reading 4

  Scenario: Two readings swapped by the gateway are both accepted, and the audit log shows the order they came in
    Given the wearables reach the cloud through a gateway that terminates TLS and swaps reading 4 with the next one
    When wearable-0001 reports 6 readings
    And the gateway has let go of every reading it held
    Then the cloud opens 6 of 6 readings from wearable-0001 with the values the wearable sent
    And the audit log shows reading 4 of wearable-0001 arriving after reading 5

  # The malice `downgrade` (docs/architecture.md §3 Roles): the gateway offers the device only TLS 1.2 with
  # ECDHE-ECDSA-AES128-SHA, a CBC suite without AEAD (RFC 9325 §4.1-4.2; source chapter §17.3.1).
  @gateway-downgrade
  Scenario: A device whose floor is TLS 1.3 refuses a gateway that offers only TLS 1.2 with a CBC suite
    Given the wearables reach the cloud through a gateway that terminates TLS and offers the device only TLS 1.2 with a CBC suite
    When wearable-0001 tries to report 2 readings
    Then wearable-0001's own records show its TLS handshake with the gateway failing with "alert protocol version"
    And the gateway read no MQTT packet from the device and the cloud audited nothing
    And the device-gateway capture shows the device offering only TLS 1.3 and the gateway answering with a "protocol_version" alert, and no MQTT in clear

  @gateway-downgrade
  Scenario: A device that still accepts TLS 1.2 takes the gateway's CBC suite, and only E3 keeps the readings
    Given 1 wearable with the "legacy-tls12" profile
    And the wearables reach the cloud through a gateway that terminates TLS and offers the device only TLS 1.2 with a CBC suite
    When wearable-0001 reports 2 readings
    Then wearable-0001's own records show a TLS handshake with the gateway using TLSv1.2 TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA
    And the gateway's records show it read wearable-0001's CONNECT and 2 PUBLISH packets in clear
    And the cloud opens 2 of 2 readings from wearable-0001 with the values the wearable sent
    And the device-gateway capture shows every ServerHello selecting TLSv1.2 TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA
