@recipe-reporting @e3 @gateway-malice
Feature: A gateway that holds back and reorders readings cannot make the cloud accept a stale one
  The patient's home router decides when each reading moves on (source chapter §17.6). E3 puts an
  authenticated timestamp and sequence number in every packet (DESIGN.md §4), so the cloud judges
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
