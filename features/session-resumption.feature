@recipe-resumption @resumption
Feature: Session resumption reduces round trips — measured on the wire, not assumed
  The source chapter (§17.4, §17.7) says TLS 1.3 needs 1 round trip instead of TLS 1.2's 2, and
  that resumption amortises the handshake's energy. Here every claim is counted from a capture
  taken beside the device, on a link that delays each direction by 25 ms (a 50 ms round trip).
  A round trip is a flight from the device answered by a flight from the broker; the TCP
  handshake is one more, and MQTT's CONNECT → CONNACK the last one.

  Node.js has no TLS 0-RTT early data (no API to send it, RFC 8446 §2.3), so a resumed TLS 1.3
  connection still takes 1 TLS round trip: what resumption saves there is the certificate, the
  bytes and the device's signature checks, not time on the wire. The chapter's "0-RTT
  resumption" row is therefore not reproduced.

  Two brokers, the same scenarios. The local placement runs Aedes on node:tls in-process; the
  containers placement (topology/containers-resumption.ts) runs Mosquitto 2.0 on OpenSSL 3.0, the
  device in its own container, the link as a userspace relay container (links/tcp-link.ts: this
  kernel has no tc netem; link-delay holds TCP's SYN and SYN-ACK in an NFQUEUE queue, which the
  relay's kernel would otherwise answer at once) and a tcpdump sidecar in the device's network
  namespace. What Mosquitto did, read from those captures: it resumes TLS 1.2 by ticket (RFC 5077)
  and, with tickets turned off, by session ID from OpenSSL's server cache, client certificates
  notwithstanding; it resumes TLS 1.3 by ticket; it answers an X25519-only key share with a
  HelloRetryRequest when limited to P-256 — all as Aedes on node:tls does (both are OpenSSL
  underneath); they differ in the tickets sent after a resumed TLS 1.3 handshake (the table
  below). mosquitto.conf has no option to turn tickets off or to choose key-share groups, so those
  two settings are given to OpenSSL itself (an openssl.cnf system_default section: Options =
  -SessionTicket, Groups = P-256). Mosquitto logs no TLS handshakes, so whether the gateway's
  upstream handshakes resumed is read, on both placements, from the broker's ServerHellos in the
  capture of the gateway's link; the broker's own record gives only whom it admitted (Aedes: the
  verified peer of each handshake; Mosquitto: the certificate CN it logs with each CONNECT).

  Background:
    Given a cloud broker with mutual TLS behind an emulated link with a 50 ms round trip

  Scenario: TLS 1.2 — a resumed session saves one of the four round trips to CONNACK
    Given wearable-0001 speaks TLS 1.2 and keeps its TLS sessions
    When wearable-0001 connects, disconnects and connects again
    Then the capture shows a full TLS 1.2 handshake, then a resumed one
    And the capture counts 4 round trips to CONNACK for the full handshake and 3 for the resumed one, TCP included
    And every connection took at least its round trips × 50 ms to CONNACK, each counted round trip spanning the link's delay
    And the resumed connection saves 1 round trip of connect time, measured in this run and reported as a ratio
    And the resumed server flight is too small to hold the cloud's certificate, and carries at least 90 % fewer bytes
    And on the "esp32" profile the measured handshakes cost what the energy model says, and resumption saves energy

  Scenario: TLS 1.2 — resumption by session ID, from the broker's session store
    Given wearable-0001 speaks TLS 1.2 and keeps its TLS sessions
    And the broker resumes TLS 1.2 sessions by session ID only, with tickets turned off
    When wearable-0001 connects, disconnects and connects again
    Then the capture shows a full TLS 1.2 handshake, then a resumed one
    And the capture counts 4 round trips to CONNACK for the full handshake and 3 for the resumed one, TCP included

  Scenario: TLS 1.3 — full and resumed both take one TLS round trip; resumption saves the certificate and the bytes
    Given wearable-0001 speaks TLS 1.3 and keeps its TLS sessions
    When wearable-0001 connects, disconnects and connects again
    Then the capture shows a full TLS 1.3 handshake, then a resumed one
    And the capture counts 3 round trips to CONNACK for the full handshake and 3 for the resumed one, TCP included
    And every connection took at least its round trips × 50 ms to CONNACK, each counted round trip spanning the link's delay
    And the resumed connection saves 0 round trips of connect time, measured in this run and reported as a ratio
    And the resumed server flight is too small to hold the cloud's certificate, and carries at least 80 % fewer bytes
    And on the "esp32" profile the measured handshakes cost what the energy model says, and resumption saves energy

  # Each broker's own choice, seen only in the decrypted capture (TLS 1.3 tickets are encrypted):
  # OpenSSL's default is 2 tickets after a full handshake and 1 after a resumed one (Mosquitto
  # keeps it); node:tls sends none after a resumed one, so a device that resumes with Aedes can
  # only offer its first ticket again (linkable across connections, RFC 8446 §C.4), while with
  # Mosquitto it gets a fresh one each time.
  @needs-tshark
  Scenario: TLS 1.3 — how many session tickets each broker sends, counted in the capture decrypted with the key log
    Given wearable-0001 speaks TLS 1.3 and keeps its TLS sessions
    When wearable-0001 connects, disconnects and connects again
    Then the capture shows a full TLS 1.3 handshake, then a resumed one
    And decrypted with the key log, the capture shows the broker's session tickets after each handshake:
      | broker    | server              | after the full handshake | after the resumed handshake |
      | aedes     | node:tls            | 2                        | 0                           |
      | mosquitto | Mosquitto (OpenSSL) | 2                        | 1                           |

  Scenario: A wearable that reconnects after a broker-side disconnect resumes its session
    Given wearable-0001 speaks TLS 1.3 and keeps its TLS sessions
    When the broker side resets wearable-0001's connection and the wearable reconnects by itself
    Then the broker saw the device reconnect and resume its session

  # The capture is of the gateway's own upstream TLS; the broker's Certificate is encrypted there
  # (TLS 1.3), so it is looked for in the capture decrypted with the key log.
  @needs-tshark
  Scenario: A TLS-terminating gateway resumes its upstream session when it reconnects to the broker
    Given wearable-0001 reaches the broker through a gateway that terminates TLS and keeps its upstream TLS 1.3 sessions
    When wearable-0001 connects, disconnects and connects again
    Then the capture shows a full TLS 1.3 handshake, then a resumed one
    And the broker's ServerHellos on the gateway's link show a full handshake, then the gateway's session resumed, and the broker admitted the gateway's certificate both times
    And the resumed server flight is too small to hold the cloud's certificate, and carries at least 80 % fewer bytes

  Scenario: A session is never offered to a different server name
    Given wearable-0001 speaks TLS 1.3 and keeps its TLS sessions
    When wearable-0001 connects to "cloud.testbed.local", then to "broker.testbed.local", then to "cloud.testbed.local" again
    Then the second ClientHello asks for "broker.testbed.local" and offers no session, while the third, back to "cloud.testbed.local", resumes

  @penalty
  Scenario: A key-share mismatch costs a HelloRetryRequest: one more round trip
    Given wearable-0042 speaks TLS 1.3 and keeps its TLS sessions
    And the broker accepts only the P-256 key share, while the device offers X25519 first
    When wearable-0042 connects
    Then the capture shows a HelloRetryRequest and 4 round trips to CONNACK, one more than without it
    And every connection took at least its round trips × 50 ms to CONNACK, each counted round trip spanning the link's delay


  # DTLS 1.2 (RFC 6347) through the project's pion bridges, captured beside the device on a UDP
  # link with the same 50 ms round trip. A round trip here ends at the server flight carrying the
  # server's Finished: after it the device sends its data. pion has no session tickets (session
  # IDs only) and no DTLS 1.3 exists in any package this project can use.
  @dtls @needs-go
  Scenario: DTLS 1.2 — the cookie exchange makes a full handshake 3 round trips; a resumed one takes 1
    Given wearable-0001 speaks DTLS 1.2 over a UDP link with a 50 ms round trip to the cloud's DTLS endpoint, without a client certificate, and both ends keep DTLS sessions
    When wearable-0001 completes a DTLS handshake, closes the connection and handshakes again
    Then the capture shows a full DTLS 1.2 handshake with a HelloVerifyRequest cookie exchange, then a resumed one without it
    And the capture counts 3 round trips for the first DTLS handshake and 1 for the second
    And each DTLS handshake took at least its round trips × 50 ms on the wire, each counted round trip spanning the link's delay
    And the resumed DTLS handshake finished sooner than the full one, in this run
    And the resumed DTLS handshake carries no certificate and at least 80 % fewer server bytes
    And the device's DTLS bridge reports the second handshake as resumed

  # pion's server drops the session of a client that sent a certificate (it would have to re-check
  # that certificate on resumption, CVE-2016-5419): with mutual DTLS every handshake is a full one.
  @dtls @needs-go
  Scenario: DTLS 1.2 with a client certificate — pion keeps no session, so every handshake costs 3 round trips
    Given wearable-0001 speaks DTLS 1.2 over a UDP link with a 50 ms round trip to the cloud's DTLS endpoint, with a client certificate, and both ends keep DTLS sessions
    When wearable-0001 completes a DTLS handshake, closes the connection and handshakes again
    Then the capture shows two full DTLS 1.2 handshakes, each with a HelloVerifyRequest cookie exchange
    And the capture counts 3 round trips for the first DTLS handshake and 3 for the second
    And each DTLS handshake took at least its round trips × 50 ms on the wire, each counted round trip spanning the link's delay
    And the device's DTLS bridge reports the second handshake as full
