@recipe-energy-model @energy
Feature: The wearable's energy budget, as the source chapter works it out
  The source chapter (§17.6 step 3) says encryption costs the nRF52840 wearable about 3 % of what
  its radio spends, and (§17.7) that one full TLS 1.3 handshake on an ESP32 costs as much energy
  as about 760 protected messages. The figures live in one table (emulators/energy-model.ts);
  these scenarios check that the model reproduces the chapter's arithmetic — every Then compares
  a figure the model derives (energy per reading, per day, battery days, handshake time, energy
  and its worth in messages) with the chapter's, never a figure copied from the table — and the
  resumption feature feeds it the round trips it measures on the wire.

  Scenario: Energy per reading, per day and battery life of the nRF52840 wearable (§17.6 step 3)
    Given the "nrf52840" device profile
    Then one reading costs 34.1 µJ, 1.1 µJ of it for E3 and record-layer encryption
    And 2,880 readings a day cost 98.2 mJ
    And a 2,664 J battery lasts about 27,130 days on transmission and encryption alone
    And encryption is about 3 % of the energy per reading

  Scenario: A full TLS 1.3 handshake on the ESP32 over a 50 ms round trip (§17.7)
    Given the "esp32" device profile
    When it makes a full TLS 1.3 handshake of 1 round trip at 50 ms RTT
    Then the handshake takes 72 ms and about 38 mJ
    And that is the energy of about 760 AES-GCM messages

  Scenario: The energy command prints the worked example
    When an analyst runs "testbed energy --profile nrf52840"
    Then the output shows "34.1 µJ", "98.2 mJ" and "~27,130 days"

  Scenario: An unknown device profile is refused with the valid ones
    When an analyst runs "testbed energy --profile arduino"
    Then the command fails saying "unknown device profile \"arduino\"; profiles: esp32, nrf52840"
