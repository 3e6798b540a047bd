@recipe-dtls13-resumption @dtls @dtls13 @resumption @needs-wolfssl
Feature: DTLS 1.3 round trips on a 50 ms link, from the capture — full, with and without the cookie, resumed, 0-RTT
  The source chapter claims DTLS 1.3 brings 0-RTT resumption, "instant reconnection" (§17.4).
  wearable-0001's wolfSSL bridge talks to the cloud's wolfSSL bridge through a UDP link that delays
  each direction by 25 ms, captured beside the device. Each scenario handshakes in full (the
  cloud's certificate; no client certificate), sends a reading, closes, resumes with the session
  ticket (RFC 8446 §4.6.1) and sends another. The capture alone says how many server flights
  the device waited for before each reading left (analysis/dtls13-handshake.ts reads the
  ClientHello, HelloRetryRequest and ServerHello, and the RFC 9147 §4 unified headers whose epoch
  tells early data (1), handshake (2) and application data (3)).

  What the runs show (wolfSSL 5.5.4): the stateless HelloRetryRequest cookie (RFC 9147 §5.1) costs
  one more round trip on every handshake, resumed ones included; and wolfSSL's client sends its
  first application data only after the server has acknowledged its Finished (one round trip
  later than TLS 1.3 would allow), so a full handshake without the cookie waits 2 server flights.

  Scenario: With the HelloRetryRequest cookie, every DTLS 1.3 handshake pays for it, resumed or not
    Given wearable-0001 speaks DTLS 1.3 over a UDP link with a 50 ms round trip to the cloud's DTLS endpoint, the HelloRetryRequest cookie on, 0-RTT refused
    When wearable-0001 completes a DTLS 1.3 handshake and sends a reading, closes the connection, resumes and sends another
    Then each DTLS 1.3 handshake has a HelloRetryRequest
    And the second DTLS 1.3 handshake resumed with the ticket: its ServerHello accepted the pre-shared key
    And the capture counts 3 round trips before the first reading of the full DTLS 1.3 handshake and 3 for the resumed one
    And each counted round trip spans the link's delay on the wire
    And the resumed handshake's server flights carry at least 50 % fewer bytes than the full one's: no certificate

  Scenario: Without the cookie, a DTLS 1.3 handshake is one round trip shorter
    Given wearable-0001 speaks DTLS 1.3 over a UDP link with a 50 ms round trip to the cloud's DTLS endpoint, the HelloRetryRequest cookie off, 0-RTT refused
    When wearable-0001 completes a DTLS 1.3 handshake and sends a reading, closes the connection, resumes and sends another
    Then each DTLS 1.3 handshake lacks a HelloRetryRequest
    And the second DTLS 1.3 handshake resumed with the ticket: its ServerHello accepted the pre-shared key
    And the capture counts 2 round trips before the first reading of the full DTLS 1.3 handshake and 2 for the resumed one
    And each counted round trip spans the link's delay on the wire
    And the resumed handshake's server flights carry at least 50 % fewer bytes than the full one's: no certificate

  @zero-rtt
  Scenario: 0-RTT: the resumed reading leaves in the first flight, before any answer from the cloud
    Given wearable-0001 speaks DTLS 1.3 over a UDP link with a 50 ms round trip to the cloud's DTLS endpoint, the HelloRetryRequest cookie off, 0-RTT allowed
    When wearable-0001 completes a DTLS 1.3 handshake and sends a reading, closes the connection, and resumes with the next reading as early data
    Then each DTLS 1.3 handshake lacks a HelloRetryRequest
    And the second DTLS 1.3 handshake resumed with the ticket: its ServerHello accepted the pre-shared key
    And the resumed reading travelled as early data in the ClientHello's flight
    And the capture counts 2 round trips before the first reading of the full DTLS 1.3 handshake and 0 for the resumed one
    And each counted round trip spans the link's delay on the wire
    And the resumed reading left sooner after its ClientHello than the full one, in this run

  @zero-rtt
  Scenario: With the cookie on, the 0-RTT reading is dropped, although wolfSSL says it was accepted
    Given wearable-0001 speaks DTLS 1.3 over a UDP link with a 50 ms round trip to the cloud's DTLS endpoint, the HelloRetryRequest cookie on, 0-RTT allowed
    When wearable-0001 completes a DTLS 1.3 handshake and sends a reading, closes the connection, and resumes with the next reading as early data
    Then the resumed handshake's first flight carried early data and the cloud answered with a HelloRetryRequest
    And the second DTLS 1.3 handshake resumed with the ticket: its ServerHello accepted the pre-shared key
    And the cloud's bridge says wolfSSL reported the early data "accepted" while 0 bytes of it arrived
