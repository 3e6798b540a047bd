@recipe-reporting @e3 @untrusted-gateway
Feature: E3 readings survive an untrusted gateway that terminates TLS
  The patient's home router is not under the provider's control (source chapter §17.6). When it
  terminates the wearable's TLS it holds every MQTT byte in the clear, so E3 must leave it
  nothing but 96-byte AES-GCM ciphertext, and the cloud must catch every change it makes:
  a flipped bit, a replayed packet, a dropped reading.

  Background:
    Given a cloud broker with mutual TLS and the cloud service
    And 1 wearable with the "secure" profile

  Scenario: A gateway that terminates TLS holds only E3 ciphertext, and the cloud opens every reading
    Given the wearables reach the cloud through a gateway that terminates TLS and only sniffs
    When wearable-0001 reports 20 readings
    Then every reading the gateway forwarded is a 96-byte E3 packet, unchanged
    And no reading value or patient identity appears in clear in the gateway records or any link capture
    And the cloud opens 20 of 20 readings from wearable-0001 with the values the wearable sent

  # The analyst's cross-check, in its own scenario so the headline above runs without tshark.
  @needs-tshark
  Scenario: Decrypted with the run's TLS key log, the gateway-cloud capture shows the same E3 packets inside MQTT
    Given the wearables reach the cloud through a gateway that terminates TLS and only sniffs
    When wearable-0001 reports 5 readings
    Then the gateway-cloud capture, decrypted with the run's TLS key log, shows the same 96-byte E3 packets inside MQTT

  Scenario: A transparent relay sees only TLS records
    Given the wearables reach the cloud through a gateway that only relays TCP
    When wearable-0001 reports 5 readings
    Then the gateway read no MQTT packet in clear
    And the cloud opens 5 of 5 readings from wearable-0001 with the values the wearable sent

  Scenario Outline: The cloud catches what the gateway does to the readings: <malice>
    Given the wearables reach the cloud through a gateway that terminates TLS and <malice>
    When wearable-0001 reports 10 readings
    Then the cloud rejects reading <reading> from wearable-0001 as "<reason>"
    And the cloud accepts every other reading from wearable-0001 exactly once, and rejects nothing else

    Examples:
      | malice                  | reading | reason  |
      | tampers with reading 5  | 5       | bad tag |
      | tampers with reading 1  | 1       | bad tag |
      | replays reading 3       | 3       | replay  |

  Scenario: A replayed reading is accepted once and every copy is rejected
    Given the wearables reach the cloud through a gateway that terminates TLS and replays reading 6
    When wearable-0001 reports 8 readings
    Then the cloud rejects 1 copy of reading 6 from wearable-0001 as "replay"

  Scenario: A gateway that drops readings cannot hide the gaps
    Given the wearables reach the cloud through a gateway that terminates TLS and drops readings 4 and 7
    When wearable-0001 reports 10 readings
    Then wearable-0001 believes all 10 readings were delivered
    And the audit log shows readings "4 and 7" of wearable-0001 missing, and no others
