@fleet @recipe-fleet @fleet-revocation
Feature: One wearable's certificate revoked while the fleet reports
  The worked example's fleet (source chapter §17.6) with mutual TLS to the broker (E4). While the
  fleet reports, the CA revokes one wearable's certificate (RFC 5280 §5: a CRL from the issuing
  intermediate) and the broker takes the new CRL in. From then on only that wearable is refused:
  the cloud opens every other wearable's readings exactly once and in order, the revoked one's
  readings stop at the revocation and wait in its own store-and-forward queue (counted, never
  silent), the broker's own log records each refusal, and its certificate presented once more on
  a captured link is refused on the wire (TLS 1.3 alerts decrypted with the presenter's key log).
  Locally Aedes on node:tls reloads the CRL in place; in containers Mosquitto 2.0.11 is restarted
  (its SIGHUP reload refuses new handshakes with the CRL but keeps the revoked session open).

  # 5×: readings queued while a broker takes a CRL in must stay inside the cloud's ±300 s
  # timestamp window (as in the restart scenario of fleet.feature).
  Scenario Outline: The CA revokes one wearable's certificate mid-run and only it is refused (<broker>)
    Given a fleet of 200 wearables reporting every 30 s at 5× speed, whose broker checks the CA's revocation list
    When every wearable connects to the broker with mutual TLS
    And every wearable reports 4 readings while the CA revokes wearable-0042's certificate once half of them are sealed
    Then the cloud opens every reading exactly once and in order for every wearable but wearable-0042
    And wearable-0042's readings stop at the revocation and its queue holds every reading it could not deliver
    And the broker's own log refuses wearable-0042's certificate from the revocation on and admits no session of it
    And wearable-0042's certificate presented again is refused on the wire with "<on the wire>"

    # node:tls checks the client chain in JavaScript after OpenSSL's handshake and closes without an alert (as in mutual-tls.feature).
    @broker-aedes
    Examples: Aedes on node:tls
      | broker | on the wire |
      | Aedes  | no alert    |

    @broker-mosquitto
    Examples: Mosquitto (OpenSSL)
      | broker    | on the wire         |
      | Mosquitto | certificate_revoked |
