@up @recipe-up @live-capture @needs-tshark
Feature: A link's live capture as a pcapng stream that carries its own TLS secrets
  An analyst follows a link of a running testbed in Wireshark with
  `testbed tail capture gateway-cloud | wireshark -k -i -`: the packets arrive as pcapng while
  the graph runs, and the run's TLS key log travels inside the stream as Decryption Secrets
  Blocks (pcapng, secrets type 0x544c534b), so Wireshark decrypts without a key-log file. Here
  tshark reads the stream from a pipe (`tshark -r -`), as Wireshark would.

  Scenario: tshark reads a reading's MQTT PUBLISH from the streamed gateway→cloud link with no key-log file of its own
    Given the testbed is up with 1 wearable and a device reserved for external clients
    When testbed tail capture streams the gateway-cloud link into tshark while wearable-0001 sends 1 reading through the gateway
    Then the stream carried the run's TLS key log as a Decryption Secrets Block before the encrypted records
    And tshark, given no key-log file, decrypts wearable-0001's reading as an MQTT PUBLISH on its E3 topic
    And without the embedded secrets tshark reads no MQTT in the same stream
