@recipe-reporting @plaintext @pitfall
Feature: Plain MQTT on port 1883 leaks a device's credentials
  "Credentials visible in network packet captures" is the first symptom of the source chapter's
  first pitfall (§17.5, Unencrypted Communication). The same wearable, the same readings: over
  plain MQTT anyone on the path reads its username and password; over MQTT/TLS nobody does.
  E3 still keeps the readings themselves opaque in both cases.

  Background:
    Given a cloud broker with mutual TLS and the cloud service

  Scenario: A wearable on plain MQTT shows its username and password to anyone on the path
    Given 1 wearable with the "plaintext" profile
    And the wearables reach the cloud through a gateway that only relays TCP
    When wearable-0001 reports 3 readings
    Then the device-gateway capture shows wearable-0001's MQTT username and password in clear
    And the gateway-cloud capture shows wearable-0001's MQTT username and password in clear
    And no reading value or patient identity appears in clear in the gateway records or any link capture
    And the cloud opens 3 of 3 readings from wearable-0001 with the values the wearable sent

  @needs-tshark
  Scenario: Wireshark's MQTT dissector shows the plain-MQTT wearable's credentials, as an analyst would see them
    Given 1 wearable with the "plaintext" profile
    And the wearables reach the cloud through a gateway that only relays TCP
    When wearable-0001 reports 3 readings
    Then tshark's MQTT dissector shows wearable-0001's CONNECT username and password in the device-gateway capture
    And tshark's MQTT dissector shows wearable-0001's CONNECT username and password in the gateway-cloud capture

  Scenario: The same wearable over MQTT/TLS leaks nothing
    Given 1 wearable with the "secure" profile
    And the wearables reach the cloud through a gateway that only relays TCP
    When wearable-0001 reports 3 readings
    Then the device-gateway capture does not show wearable-0001's MQTT username or password
    And the gateway-cloud capture does not show wearable-0001's MQTT username or password
    And the cloud opens 3 of 3 readings from wearable-0001 with the values the wearable sent
