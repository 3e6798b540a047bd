@fleet @fleet-dtls @dtls @recipe-dtls-fleet
Feature: A DTLS fleet on one bridge process, through a lossy and reordering device link
  The source chapter's wearables speak DTLS to the home gateway (§17.6), which strips it and
  forwards each E3 packet to the cloud broker over its own mutual TLS. Here one bridge process
  hosts every wearable's DTLS session (issue 11 "DTLS fleet"), each under its own PSK identity
  with its own E3 key, pseudonym, salt and sequence, and the device link loses and reorders
  datagrams both ways. UDP promises nothing: each wearable keeps a reading until the cloud
  acknowledges it and sends it again each resend interval, one reading in flight at a time; the
  cloud's E3 replay window refuses every extra copy. Locally the broker is Aedes, in containers
  Mosquitto with the fleet bridge in one shard container behind a link relay container.

  Scenario: 1,000 DTLS wearables on one bridge report through a lossy, reordering link: nothing lost, nothing accepted twice
    Given a DTLS fleet of 1000 wearables on one bridge process, reporting every 30 s at 5× speed
    And the device link loses 10% and reorders 20% of datagrams each way
    And each wearable resends an unacknowledged reading every 1000 ms, at most 20 times, with one reading in flight
    When every wearable of the fleet completes its DTLS handshake with the gateway
    And every wearable of the fleet reports 2 readings
    Then the cloud opened every reading of every wearable exactly once and in order
    And every extra copy that reached the cloud was refused as a replay
    And no wearable gave up a reading, by its own records, though they resent some
    And the gateway completed DTLS handshakes with 1000 distinct wearables, each under its own identity
    And the device link dropped and held back datagrams in both directions by its own count, and the capture shows gateway records that never reached the wearables
    And the device-link capture shows 1000 distinct DTLS clients, nearly all through the cookie exchange and on to application data

  # The contrast: the same link without resends. Readings go missing, and not silently: each
  # wearable counts what it gave up (some of those were opened and only their acks were lost).
  Scenario: Without resends the same link loses readings, and the wearables count every one given up
    Given a DTLS fleet of 100 wearables on one bridge process, reporting every 30 s at 5× speed
    And the device link loses 10% and reorders 20% of datagrams each way
    And each wearable sends each reading once and never resends it, with one reading in flight
    When every wearable of the fleet completes its DTLS handshake with the gateway
    And every wearable of the fleet reports 2 readings
    Then readings are missing at the cloud, and their wearables counted every one of them as given up
