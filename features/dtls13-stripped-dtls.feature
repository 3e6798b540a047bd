@recipe-dtls13-reporting @dtls @dtls13 @e3 @needs-wolfssl
Feature: E3 readings survive a stripped DTLS 1.3 layer
  The source chapter's worked example carries E3 inside DTLS 1.3 (§17.6 step 2). Here the
  wearable speaks DTLS 1.3 (RFC 9147) through the project's wolfSSL bridge, built from Debian's
  own wolfssl source package; the gateway or an on-path attacker that terminates it must be left
  with nothing but E3 ciphertext, and the cloud must catch every change, exactly as over
  DTLS 1.2. The device link's DTLS 1.3 records are read from the capture by the project's own
  parser of the unified header (RFC 9147 §4), which tshark 4.0 shows as plain UDP. Both ends are
  wolfSSL: no other DTLS 1.3 implementation is available here to interoperate with.

  Background:
    Given a cloud broker with mutual TLS and the cloud service
    And 1 wearable with the "secure" profile

  Scenario: A gateway that strips DTLS 1.3 holds only E3 ciphertext, and the cloud opens every reading
    Given the wearables reach the cloud over DTLS 1.3 through a gateway that strips DTLS
    When wearable-0001 reports 20 readings
    Then the gateway read only 96-byte E3 packets, each one a packet the wearable sealed
    And every reading the gateway forwarded is a 96-byte E3 packet, unchanged
    And the cloud opens 20 of 20 readings from wearable-0001 with the values the wearable sent
    And no reading value or patient identity appears in clear in the gateway records or any link capture
    And the device-gateway capture holds only DTLS records, encrypted after the handshake, and no E3 packet in clear
    And the device-gateway capture shows DTLS 1.3 on the wire: every ServerHello selects it and the readings travel in its records

  Scenario Outline: The cloud catches what a DTLS 1.3-stripping gateway does: <malice>
    Given the wearables reach the cloud over DTLS 1.3 through a gateway that strips DTLS and <malice>
    When wearable-0001 reports 10 readings
    Then the cloud rejects reading <reading> from wearable-0001 as "<reason>"
    And the cloud accepts every other reading from wearable-0001 exactly once, and rejects nothing else

    Examples:
      | malice                 | reading | reason  |
      | tampers with reading 5 | 5       | bad tag |
      | replays reading 3      | 3       | replay  |

  Scenario Outline: An on-path attacker holding the DTLS 1.3 PSK gets only E3, and the cloud rejects its <malice>
    Given the wearables reach the cloud's DTLS endpoint over DTLS 1.3 with a pre-shared key, through an on-path attacker that holds the key and <malice>
    When wearable-0001 reports 10 readings
    Then the attacker read only 96-byte E3 packets, each one a packet the wearable sealed
    And the device-attacker capture shows DTLS 1.3 on the wire: every ServerHello selects it and the readings travel in its records
    And the cloud rejects reading <reading> from wearable-0001 as "<reason>"
    And the cloud accepts every other reading from wearable-0001 exactly once, and rejects nothing else
    And no reading value or patient identity appears in clear in the gateway records or any link capture

    Examples:
      | malice                 | reading | reason  |
      | tampers with reading 4 | 4       | bad tag |
      | replays reading 7      | 7       | replay  |
