@recipe-credentials @credentials @pitfall
Feature: Hard-coded credentials in firmware: one leaked image opens the whole fleet
  The source chapter's second device pitfall (§17.5, "Hardcoded Credentials in Firmware"): the
  WRONG firmware compiles MQTT_USER, MQTT_PASS and an API key (sk_live_…) into every image, the
  CORRECT one gives every device its own certificate and key. The testbed writes one firmware
  image per device (header, code, an NVS-like configuration section, certificate and key blobs
  in PEM and DER); each device boots from its own image, and an attacker who dumped one image
  boots the same bytes. What the attacker gets, and whether the operator can take it back
  without touching the firmware, is read from the broker's records and the cloud's audit log.
  The shared secrets are random per fleet: the scan is never told what to look for.

  @firmware-scan
  Scenario: The firmware scan finds the hard-coded fleet's shared password and API key in every image
    Given a fleet of 5 wearables built with "hardcoded-credentials" firmware
    When the analyst scans the fleet's firmware images
    Then the scan finds the MQTT password and a live API key in every image, at the same offset, shared by all 5 images

  @firmware-scan
  Scenario: The firmware scan finds a key and certificate of its own in each per-device image, and nothing shared
    Given a fleet of 5 wearables built with "per-device-identity" firmware
    When the analyst scans the fleet's firmware images
    Then the scan finds each image's own private key and certificate, and no credential shared by two images

  Scenario: With hard-coded credentials one leaked image lets an attacker publish as every device of the fleet
    Given a fleet of 3 wearables built with "hardcoded-credentials" firmware
    When the fleet connects to the cloud broker with the credentials in its firmware
    And an attacker extracts wearable-0001's firmware image and uses it to connect as every device of the fleet, publishing on each device's topic
    Then the broker let the attacker publish on the topics of 3 of the 3 devices, as "admin"
    And the broker reports the identity "admin" connected from 6 clients at once
    And the cloud audit shows the attacker's packets for 3 devices, each rejected as "bad tag"

  Scenario: With per-device certificates the same leak lets the attacker publish as one device only, and the clone shows
    Given a fleet of 3 wearables built with "per-device-identity" firmware
    When the fleet connects to the cloud broker with the credentials in its firmware
    And an attacker extracts wearable-0001's firmware image and uses it to connect as every device of the fleet, publishing on each device's topic
    Then the broker let the attacker publish on the topics of 1 of the 3 devices, as "wearable-0001"
    And the broker reports the identity "wearable-0001" connected from 4 clients at once
    And the cloud audit shows the attacker's packets for 1 device, each rejected as "bad tag"

  Scenario: Per-device credentials rotate without a firmware update: new certificate issued, the leaked one revoked
    Given a fleet of 3 wearables built with "per-device-identity" firmware
    When the fleet connects to the cloud broker with the credentials in its firmware
    And an attacker extracts wearable-0001's firmware image and uses it to connect as every device of the fleet, publishing on each device's topic
    And the operator rotates wearable-0001's credentials without a firmware update
    And every device and the attacker connect again
    Then 3 of the 3 devices are admitted by the broker, and the attacker is refused

  Scenario: A hard-coded password cannot be rotated without a firmware update: changing it locks out the whole fleet
    Given a fleet of 3 wearables built with "hardcoded-credentials" firmware
    When the fleet connects to the cloud broker with the credentials in its firmware
    And an attacker extracts wearable-0001's firmware image and uses it to connect as every device of the fleet, publishing on each device's topic
    And the operator rotates wearable-0001's credentials without a firmware update
    And every device and the attacker connect again
    Then 0 of the 3 devices are admitted by the broker, and the attacker is refused
