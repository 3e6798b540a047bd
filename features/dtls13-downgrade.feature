@recipe-dtls13-resumption @dtls @dtls13 @dtls13-downgrade @needs-wolfssl @needs-go
Feature: DTLS version downgrade: refused by a DTLS 1.3-only cloud, caught by the downgrade sentinel
  wearable-0001's DTLS client reaches the cloud's wolfSSL DTLS endpoint through a UDP link,
  captured beside the device. A DTLS 1.3-only endpoint must refuse a client that offers only
  DTLS 1.2. A downgrade-capable endpoint (DTLS 1.3 and 1.2) that is pushed to DTLS 1.2 by an
  on-path attacker, who rewrites the client's supported_versions offer, still writes the
  downgrade sentinel into its ServerHello.random (RFC 8446 §4.1.3, which RFC 9147 §5 keeps for
  DTLS 1.3: the last 8 bytes are "DOWNGRD\x01"), and a client that offered DTLS 1.3 must abort
  when it sees it. A DTLS 1.2 ClientHello is protected by nothing but the Finished messages,
  which come later: the sentinel is meant to catch the edit first. With wolfSSL 5.5.4 on both
  ends an attacker who only hides the offer is stopped even earlier, at the cookie exchange
  (second scenario); one who also answers that exchange gets the client to the ServerHello, and
  there the sentinel stops it (third scenario).

  The contrast: a client that offers only DTLS 1.2 (pion) gets the same sentinel from the same
  endpoint and rightly carries on (RFC 8446 §4.1.3 asks only TLS 1.3 clients to check
  "DOWNGRD\x01"): the session is DTLS 1.2, and a reading travels in it. Whether that is
  acceptable is the endpoint's policy (the first scenario), not the client's.

  Scenario: A DTLS 1.3-only cloud refuses a DTLS 1.2-only client: protocol_version on the wire, nothing delivered
    Given the cloud's DTLS endpoint is DTLS 1.3-only and wearable-0001 connects with a DTLS 1.2-only client (pion)
    When wearable-0001 tries a DTLS handshake with the cloud and, if it completes, sends a reading
    Then the capture shows wearable-0001's ClientHello offering only DTLS 1.2
    And the capture shows the cloud's fatal protocol_version alert and no ServerHello
    And the handshake failed, and nothing reached the cloud: no handshake completed there and no application data on the wire

  # wolfSSL 5.5.4, pinned: the cloud answers the edited ClientHello the DTLS 1.2 way, with a
  # HelloVerifyRequest whose version is DTLS 1.0 (as RFC 6347 §4.2.1 says a server should), and the
  # wolfSSL client, whose floor is DTLS 1.2, refuses any HelloVerifyRequest above its floor's
  # number (DoHelloVerifyRequest: VERSION_ERROR, -326) before a ServerHello exists. So the
  # downgrade fails, but this attacker never brings the client to the sentinel check, and the
  # client leaves without an alert. (wolfSSL's DTLS server sends a HelloVerifyRequest for every DTLS 1.2 handshake; it
  # cannot be turned off here.) By the same code, a wolfSSL client that offers DTLS 1.3 and 1.2
  # cannot fall back to a DTLS 1.2 server whose HelloVerifyRequest carries DTLS 1.0's version.
  Scenario: An on-path attacker hides the DTLS 1.3 offer: the cloud falls back to DTLS 1.2 and wolfSSL's client aborts at its HelloVerifyRequest
    Given the cloud's DTLS endpoint is downgrade-capable and wearable-0001 connects with a client offering DTLS 1.3 and 1.2 (wolfSSL)
    And an on-path attacker on the device link hides the DTLS 1.3 offer in every ClientHello
    When wearable-0001 tries a DTLS handshake with the cloud and, if it completes, sends a reading
    Then the capture beside the device shows wearable-0001's ClientHello offering DTLS 1.3, as it left before the attacker's edit
    And the cloud answered with a DTLS 1.2 HelloVerifyRequest and no ServerHello
    And wearable-0001's client aborted with its own reason "protocol-version" and sent no alert
    And the handshake failed, and nothing reached the cloud: no handshake completed there and no application data on the wire

  # The attacker who also answers that HelloVerifyRequest (links/dtls-downgrade-mitm.ts): the
  # client now meets the DTLS 1.2 ServerHello, and the sentinel in its random is what stops it.
  Scenario: An attacker who also answers the cloud's HelloVerifyRequest is caught by the downgrade sentinel
    Given the cloud's DTLS endpoint is downgrade-capable and wearable-0001 connects with a client offering DTLS 1.3 and 1.2 (wolfSSL)
    And an on-path attacker on the device link hides the DTLS 1.3 offer and answers the cloud's HelloVerifyRequest itself
    When wearable-0001 tries a DTLS handshake with the cloud and, if it completes, sends a reading
    Then the capture beside the device shows wearable-0001's ClientHello offering DTLS 1.3, as it left before the attacker's edit
    And the capture shows a ServerHello selecting DTLS 1.2 with the downgrade sentinel at the end of its random
    And wearable-0001's client aborted with its own reason "protocol-version" and sent a fatal illegal_parameter alert
    And the handshake failed, and nothing reached the cloud: no handshake completed there and no application data on the wire

  Scenario: Control: without the attacker the same client and cloud agree on DTLS 1.3 and the reading is delivered
    Given the cloud's DTLS endpoint is downgrade-capable and wearable-0001 connects with a client offering DTLS 1.3 and 1.2 (wolfSSL)
    When wearable-0001 tries a DTLS handshake with the cloud and, if it completes, sends a reading
    Then the capture beside the device shows wearable-0001's ClientHello offering DTLS 1.3, as it left before the attacker's edit
    And the session is DTLS 1.3: the cloud completed a handshake of that version and the reading travelled in one of its records

  Scenario: Insecure contrast: a DTLS 1.2-only client gets the sentinel too, ignores it as it may, and the session is DTLS 1.2
    Given the cloud's DTLS endpoint is downgrade-capable and wearable-0001 connects with a DTLS 1.2-only client (pion)
    When wearable-0001 tries a DTLS handshake with the cloud and, if it completes, sends a reading
    Then the capture shows wearable-0001's ClientHello offering only DTLS 1.2
    And the capture shows a ServerHello selecting DTLS 1.2 with the downgrade sentinel at the end of its random
    And the session is DTLS 1.2: the cloud completed a handshake of that version and the reading travelled in one of its records
