@recipe-zero-rtt-mqtt @zero-rtt-mqtt @needs-wolfssl
Feature: TLS 1.3 0-RTT for MQTT — the reading in the first flight, and what a replayed first flight does
  The source chapter claims 0-RTT resumption, "instant reconnection" (§17.4). Node's TLS has no
  early data, so here wearable-0001 speaks TLS 1.3 through wolfSSL (wolfssl-bridge tls-client) to
  a wolfSSL-terminated front of the broker (wolfssl-bridge tls-server: mutual TLS with the
  project's PKI, session tickets, early data), which hands each connection's plaintext to the
  broker's plain MQTT listener. The device's link delays each direction by 25 ms and is captured
  beside the device; an on-path attacker on that link records each connection's first flight.

  Each report is one MQTT CONNECT and one QoS 1 PUBLISH of a sealed E3 reading. The capture says
  how many answers the device waited for before the reading left (the reading's record is known
  by its size: everything after the ServerHello is encrypted, RFC 8446 §2); the cloud's audit
  says whether the reading was accepted.

  RFC 8446 §8: 0-RTT data is not protected against replay. A server that lets each ticket resume
  only once (§8.1) refuses a copied first flight; one that does not hands the copy's early data
  on again, and only the E3 replay window at the cloud stands between it and a duplicate reading.

  Scenario: Full, resumed and 0-RTT: round trips before the first accepted reading, counted in the capture
    Given a wolfSSL-terminated front of the broker that takes 0-RTT early data with single-use tickets, wearable-0001 behind an emulated link with a 50 ms round trip
    When wearable-0001 reports a reading in a full handshake, resumes to report the next after the handshake, then resumes to report a third as early data
    Then the device's bridge saw a full handshake, a resumed one, and a resumed one whose early data was accepted
    And the cloud's audit accepted each reading exactly once
    And the capture counts 2 round trips before the reading left on the full connection, 2 on the resumed one and 1 on the 0-RTT one, TCP included
    And on the 0-RTT connection the reading left in the ClientHello's flight, sooner after the SYN than on the resumed one, in this run
    And on the "esp32" profile the energy model prices the measured round trips, and 0-RTT costs the least

  Scenario Outline: 0-RTT replay (RFC 8446 §8): the attacker sends the recorded first flight again, <tickets>
    Given a wolfSSL-terminated front of the broker that takes 0-RTT early data <tickets>, wearable-0001 behind an emulated link with a 50 ms round trip
    When wearable-0001 reports a reading in a full handshake, then resumes to report the next as early data
    And an on-path attacker replays the 0-RTT connection's recorded first flight from a connection of its own
    Then the front <verdict> the replayed early data
    And the broker's own record shows the 0-RTT reading's PUBLISH <times>
    And the cloud's audit accepted the 0-RTT reading once and rejected <copies> of it as "replay"

    Examples:
      | tickets                    | verdict  | times   | copies   |
      | with single-use tickets    | refused  | 1 time  | 0 copies |
      | without single-use tickets | accepted | 2 times | 1 copy   |
