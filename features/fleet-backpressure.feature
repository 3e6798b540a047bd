@fleet @recipe-fleet @fleet-backpressure
Feature: Backpressure at the broker: the cloud is away longer than its queue allows
  The worked example's fleet (source chapter §17.6) reports while the cloud service is away. The
  cloud subscribes with a persistent session (clean session 0, QoS 1: MQTT 3.1.1 §3.1.2.4), so the
  broker queues readings for it until it comes back, within a quota: Mosquitto's
  max_queued_messages (mosquitto.conf(5)). Over the quota Mosquitto 2.0.11 drops each new message
  for the cloud and still PUBACKs it to the wearable (src/database.c, src/handle_publish.c): a
  PUBACK is hop by hop (MQTT 3.1.1 §4.3.2), it says the broker took the reading, not that the
  cloud will get it. Each wearable believes it delivered. What makes the loss visible end to end
  is the E3 packet's per-device sequence: the cloud's gap report names every missing reading.
  Aedes has no such quota (aedes-persistence keeps an offline client's messages in memory without
  a bound). Locally the broker is Aedes, in containers Mosquitto.

  # 5×: the backlog reaches the cloud after every reading is sealed (4 readings: ~18 s of wall
  # time), well inside the cloud's ±300 s timestamp window (60 s of wall time at 5×).
  Scenario Outline: The cloud is away while 300 wearables report; <broker> holds <what> for it
    Given a fleet of 300 wearables reporting every 30 s at 5× speed, whose broker holds <quota> for an offline subscriber<without>
    When every wearable connects to the broker with mutual TLS
    And the cloud service goes away, keeping its persistent session, while every wearable reports 4 readings
    And the cloud service comes back and the broker resumes its session
    Then every wearable had every reading acknowledged by the broker, by its own records
    And the broker's own log shows it received every reading and delivered <kept> of them to the cloud
    And the cloud's gap report names exactly the <lost> readings the broker did not deliver, per wearable and sequence
    And the broker's own log <drop record> for the cloud's client

    # 300 × 4 = 1,200 readings against a quota of 500: the first 500 to arrive are kept.
    @broker-mosquitto
    Examples: Mosquitto, a quota smaller than the backlog
      | broker    | what               | quota                           | without | kept | lost | drop record                           |
      | Mosquitto | 500 messages       | at most 500 queued messages     |         | 500  | 700  | records that it dropped messages      |

    @broker-mosquitto
    Examples: Mosquitto, a quota sized for the backlog
      | broker    | what               | quota                           | without | kept | lost | drop record                           |
      | Mosquitto | 2,000 messages     | at most 2000 queued messages    |         | 1200 | 0    | has no record of dropping messages    |

    @broker-aedes
    Examples: Aedes, no quota
      | broker | what           | quota         | without             | kept | lost | drop record                                  |
      | Aedes  | every message  | every message | , without a quota   | 1200 | 0    | keeps no kind of record of dropping messages |
