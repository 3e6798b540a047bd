@recipe-reporting @e3 @dtls @needs-go
Feature: E3 readings survive a stripped DTLS layer
  In the source chapter's worked example (§17.6) the wearable wraps each 96-byte E3 packet in
  DTLS 1.2 over UDP. Whoever terminates that DTLS — the patient's home gateway, or an attacker
  who holds the DTLS pre-shared key — must be left with nothing but E3 ciphertext, and every
  change it makes must be caught by the cloud. UDP loses datagrams: the wearable resends what the
  cloud has not acknowledged, and the cloud's replay window keeps each reading to one acceptance.
  DTLS comes from pion/dtls v2 through the project's dtls-bridge (DTLS 1.3 exists in no package
  this project can use).

  Background:
    Given a cloud broker with mutual TLS and the cloud service
    And 1 wearable with the "secure" profile

  Scenario: A gateway that strips DTLS holds only E3 ciphertext, and the cloud opens every reading
    Given the wearables reach the cloud over DTLS through a gateway that strips DTLS and only sniffs
    When wearable-0001 reports 20 readings
    Then the gateway read only 96-byte E3 packets, each one a packet the wearable sealed
    And every reading the gateway forwarded is a 96-byte E3 packet, unchanged
    And the cloud opens 20 of 20 readings from wearable-0001 with the values the wearable sent
    And no reading value or patient identity appears in clear in the gateway records or any link capture
    And the device-gateway capture holds only DTLS records, encrypted after the handshake, and no E3 packet in clear

  Scenario Outline: The cloud catches what a DTLS-stripping gateway does: <malice>
    Given the wearables reach the cloud over DTLS through a gateway that strips DTLS and <malice>
    When wearable-0001 reports 10 readings
    Then the cloud rejects reading <reading> from wearable-0001 as "<reason>"
    And the cloud accepts every other reading from wearable-0001 exactly once, and rejects nothing else

    Examples:
      | malice                 | reading | reason  |
      | tampers with reading 5 | 5       | bad tag |
      | replays reading 3      | 3       | replay  |

  Scenario Outline: An on-path attacker holding the DTLS PSK gets only E3, and the cloud rejects its <malice>
    Given the wearables reach the cloud's DTLS endpoint with a pre-shared key, through an on-path attacker that holds the key and <malice>
    When wearable-0001 reports 10 readings
    Then the attacker read only 96-byte E3 packets, each one a packet the wearable sealed
    And the cloud rejects reading <reading> from wearable-0001 as "<reason>"
    And the cloud accepts every other reading from wearable-0001 exactly once, and rejects nothing else
    And no reading value or patient identity appears in clear in the gateway records or any link capture

    Examples:
      | malice                 | reading | reason  |
      | tampers with reading 4 | 4       | bad tag |
      | replays reading 7      | 7       | replay  |

  Scenario: With 10% loss on the device link every reading still arrives exactly once
    Given the wearables reach the cloud over DTLS through a gateway that strips DTLS
    And the device link loses 10% of datagrams in each direction
    When wearable-0001 reports 30 readings
    Then every reading from wearable-0001 is accepted exactly once, and every other copy is a resend rejected as "replay"
    And the device-gateway link lost datagrams, and wearable-0001 resent readings
