@recipe-reporting @mitm @gateway-cloud
Feature: A man-in-the-middle between the gateway and the cloud
  The E4 hop (source chapter §17.3) runs from the home gateway to the cloud over the internet,
  where an attacker can sit with a forged certificate. Whether it gets in is decided by the
  gateway's upstream TLS client; what it gets, if it does, is decided by E3: only ciphertext,
  even when it holds a genuine gateway identity stolen from a compromised gateway and relays the
  session into the real cloud, which still opens every reading.

  Background:
    Given a cloud broker with mutual TLS and the cloud service
    And 1 wearable with the "secure" profile
    And the wearables reach the cloud through a gateway that terminates TLS

  Scenario: A gateway that verifies the cloud refuses the MITM
    Given the gateway's upstream client uses the "secure" profile
    And a MITM between the gateway and the cloud presents the "self-signed" forged certificate and holds a stolen gateway identity
    When wearable-0001 tries to report 3 readings
    Then the gateway refused the MITM's certificate with "self-signed certificate"
    And the MITM obtained no plaintext and the cloud audited nothing

  Scenario: A gateway that does not verify lets the MITM in, and E3 still holds
    Given the gateway's upstream client uses the "no-verify" profile
    And a MITM between the gateway and the cloud presents the "self-signed" forged certificate and holds a stolen gateway identity
    When wearable-0001 reports 5 readings
    Then the MITM read the gateway's MQTT session, and every payload in it is a 96-byte E3 packet it cannot open
    And the cloud opens 5 of 5 readings from wearable-0001 with the values the wearable sent

  Scenario: A gateway that skips the name check accepts another genuine certificate
    Given the gateway's upstream client uses the "no-hostname-check" profile
    And a MITM between the gateway and the cloud presents the "real-cert-other-name" forged certificate and holds a stolen gateway identity
    When wearable-0001 reports 3 readings
    Then the MITM read the gateway's MQTT session, and every payload in it is a 96-byte E3 packet it cannot open
    And the cloud opens 3 of 3 readings from wearable-0001 with the values the wearable sent
