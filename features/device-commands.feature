@recipe-commands @commands
Feature: Cloud commands reach the device sealed, and the device validates them before it acts
  The source chapter's third pitfall (§17.5, "Missing Input Validation on Device Commands"): a
  device that trusts a command because it came over TLS, or even sealed end to end, runs whatever
  it is told. The cloud seals each command for one device (E3: the cloud→device key, a command
  sequence in the device's replay window), so the gateway can neither read nor forge it; the
  "secure" handler then checks it against an allowlist, types, the range 10–35 °C and a rate
  limit, and the "vulnerable" handler is the chapter's WRONG one, run by an emulated firmware
  shell. Every command is answered in a sealed response the cloud audits.

  Background:
    Given a cloud broker with mutual TLS and the cloud service
    And 1 wearable with the "secure" profile
    And the wearables reach the cloud through a gateway that terminates TLS

  Scenario: The gateway carries commands and their answers, and reads neither
    Given wearable-0001 takes cloud commands with the "secure" command handler
    When the cloud sends wearable-0001 the commands:
      | {"command":"set_temp","temp":22} |
      | {"command":"get_status"}         |
    Then wearable-0001 executed command 1
    And wearable-0001 executed command 2
    And wearable-0001's thermostat is set to 22 °C
    And the gateway forwarded 2 sealed commands and read none of their text in clear
    And the gateway forwarded wearable-0001's responses sealed, with no device state in clear

  Scenario Outline: An out-of-range set point (the chapter's "What if temp = 1000?")
    Given wearable-0001 takes cloud commands with the "<handler>" command handler
    When the cloud sends wearable-0001 the command "{\"command\":\"set_temp\",\"temp\":1000}"
    Then wearable-0001's thermostat is set to <set point> °C

    Examples:
      | handler    | set point |
      | vulnerable | 1000      |
      | secure     | 21        |

  Scenario: The secure handler refuses an out-of-range set point, and the cloud audits why
    Given wearable-0001 takes cloud commands with the "secure" command handler
    When the cloud sends wearable-0001 the command "{\"command\":\"set_temp\",\"temp\":1000}"
    Then wearable-0001 refused as "range" command 1
    And the cloud audit shows wearable-0001 refused as "range" command 1, with the reason

  Scenario: An injected shell command reads the vulnerable device's key and sends it to the cloud
    Given wearable-0001 takes cloud commands with the "vulnerable" command handler
    When the cloud sends wearable-0001 the command "{\"command\":\"set_temp\",\"temp\":\"22; cat /secure/device.key\"}"
    Then wearable-0001's thermostat is set to 22 °C
    And the device's private key reached the cloud in wearable-0001's response

  Scenario: The secure handler refuses the same injection by its type, and nothing leaks
    Given wearable-0001 takes cloud commands with the "secure" command handler
    When the cloud sends wearable-0001 the command "{\"command\":\"set_temp\",\"temp\":\"22; cat /secure/device.key\"}"
    Then wearable-0001 refused as "type" command 1
    And the cloud audit shows wearable-0001 refused as "type" command 1, with the reason
    And wearable-0001's thermostat is set to 21 °C
    And no response the cloud audited holds wearable-0001's private key

  Scenario Outline: A flood of 30 reboot commands
    Given wearable-0001 takes cloud commands with the "<handler>" command handler
    When the cloud sends wearable-0001 30 "{\"command\":\"reboot\"}" commands in a burst
    Then wearable-0001 rebooted <reboots> times and refused <refused> commands as "rate limit"

    Examples:
      | handler    | reboots | refused |
      | vulnerable | 30      | 0       |
      | secure     | 10      | 20      |

  Scenario: A malformed command and one off the allowlist are refused; the device keeps running
    Given wearable-0001 takes cloud commands with the "secure" command handler
    When the cloud sends wearable-0001 the commands:
      | {"command":"set_temp","temp":20} |
      | {"command":                      |
      | {"command":"factory_unlock"}     |
      | {"command":"set_temp","temp":25} |
    Then wearable-0001 refused as "malformed" command 2
    And wearable-0001 refused as "not allowed" command 3
    And wearable-0001 applied the set points "20, 25" and no others

  Scenario: A gateway that alters a command gets it refused by the device
    Given the gateway alters command 2 on its way to the device
    And wearable-0001 takes cloud commands with the "secure" command handler
    When the cloud sends wearable-0001 the commands:
      | {"command":"set_temp","temp":20} |
      | {"command":"set_temp","temp":30} |
      | {"command":"set_temp","temp":25} |
    Then wearable-0001 refused as "bad tag" command 2
    And wearable-0001 applied the set points "20, 25" and no others

  Scenario: A gateway that replays a command gets the copy refused by the device
    Given the gateway replays command 1 to the device
    And wearable-0001 takes cloud commands with the "secure" command handler
    When the cloud sends wearable-0001 the commands:
      | {"command":"set_temp","temp":20} |
      | {"command":"set_temp","temp":25} |
    Then wearable-0001 refused as "replay" command 1
    And wearable-0001 applied the set points "20, 25" and no others

  Scenario: A gateway that forges a command gets it refused by the device
    Given the gateway forges a set_temp 35 command for the device
    And wearable-0001 takes cloud commands with the "secure" command handler
    When the cloud sends wearable-0001 the commands:
      | {"command":"set_temp","temp":20} |
      | {"command":"set_temp","temp":25} |
    Then wearable-0001 refused as "bad tag" a command the cloud never sent
    And wearable-0001 applied the set points "20, 25" and no others
