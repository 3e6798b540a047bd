@recipe-tls-policy @tls-policy
Feature: TLS version and cipher-suite policy, from both sides of the handshake
  Source chapter §17.3.1: "TLS 1.3 (or TLS 1.2 minimum)", ECDHE key exchange "for forward
  secrecy", AES-128-GCM or ChaCha20-Poly1305 for bulk data, and TLS_RSA_AES_128_CBC_SHA "Legacy
  only". RFC 8996 retires TLS 1.0 and 1.1; RFC 9325 §4.2 excludes CBC and RSA key transport.
  The broker's policy is judged from the handshakes it records and what the probing client got;
  the wearable's side from the ClientHello in the capture of its link. The `legacy` broker is the
  pitfall — "kept compatible" with old devices — so every refusal below has an accepting
  counterpart, and a probe that could not connect at all would fail the scenario.

  Broker policies: `default` (TLS 1.2 and 1.3, ECDHE + AEAD only), `tls13-only`, `legacy`
  (TLS 1.0 up, CBC and RSA key transport still on). Each broker serves an ECDSA P-256 and an RSA
  certificate from the run's CA, so a refused RSA suite is the policy's doing, not a missing key.
  "Offers only the cipher suites" leaves out signalling values that are not suites
  (TLS_EMPTY_RENEGOTIATION_INFO_SCSV, RFC 5746 §3.3), which OpenSSL adds to every ClientHello.

  The same policies as Mosquitto configurations (containers placement): `tls_version` is the
  lowest version a listener accepts, `ciphers` and `ciphers_tls1.3` are the policy's own lists.
  Mosquitto 2.0 cannot be told TLS 1.0 (its lowest `tls_version` is tlsv1.1), and it serves ONE
  certificate per listener, so its brokers serve only the cloud's ECDSA certificate: the RSA
  suites it refuses are refused for want of an RSA key, not by the policy. Mosquitto logs no
  handshake of its own, so an accepted handshake is the ServerHello it sent (read from the
  capture beside the probe) and the identity its log shows it admitted in the CONNECT that
  followed; a refusal is the OpenSSL error line in its log. What each broker really did is stated
  per broker kind in the Examples (`@broker-aedes`: local placement, `@broker-mosquitto`:
  containers placement).

  Scenario Outline: The source chapter's <cipher suite> (<IoT suitability>) against each broker policy
    Given cloud brokers with the "default", "tls13-only" and "legacy" policies
    When a probe offers only the cipher suite <cipher suite> to each broker
    Then the "default" broker <default>
    And the "tls13-only" broker <tls13-only>
    And the "legacy" broker <legacy>

    @broker-aedes
    Examples: the source chapter's cipher-suite table (§17.3.1), against Aedes on node:tls
      | cipher suite                       | security  | performance | IoT suitability   | default                               | tls13-only                                | legacy      |
      | TLS_ECDHE_ECDSA_AES_128_GCM_SHA256 | High      | Excellent   | Recommended       | accepted it                           | refused it because "unsupported protocol" | accepted it |
      | TLS_ECDHE_RSA_AES_128_GCM_SHA256   | High      | Good        | Compatible        | accepted it                           | refused it because "unsupported protocol" | accepted it |
      | TLS_AES_256_GCM_SHA384             | Very High | Good        | TLS 1.3 only      | accepted it                           | accepted it                               | accepted it |
      | TLS_CHACHA20_POLY1305_SHA256       | High      | Excellent   | Low-power devices | accepted it                           | accepted it                               | accepted it |
      | TLS_RSA_AES_128_CBC_SHA            | Moderate  | Fair        | Legacy only       | refused it because "no shared cipher" | refused it because "unsupported protocol" | accepted it |

    @broker-mosquitto
    Examples: the same table against Mosquitto (ECDSA certificate only)
      | cipher suite                       | security  | performance | IoT suitability   | default                               | tls13-only                                | legacy                                |
      | TLS_ECDHE_ECDSA_AES_128_GCM_SHA256 | High      | Excellent   | Recommended       | accepted it                           | refused it because "unsupported protocol" | accepted it                           |
      | TLS_ECDHE_RSA_AES_128_GCM_SHA256   | High      | Good        | Compatible        | refused it because "no shared cipher" | refused it because "unsupported protocol" | refused it because "no shared cipher" |
      | TLS_AES_256_GCM_SHA384             | Very High | Good        | TLS 1.3 only      | accepted it                           | accepted it                               | accepted it                           |
      | TLS_CHACHA20_POLY1305_SHA256       | High      | Excellent   | Low-power devices | accepted it                           | accepted it                               | accepted it                           |
      | TLS_RSA_AES_128_CBC_SHA            | Moderate  | Fair        | Legacy only       | refused it because "no shared cipher" | refused it because "unsupported protocol" | refused it because "no shared cipher" |

  Scenario Outline: A client offering only <protocol version> against each broker policy
    Given cloud brokers with the "default", "tls13-only" and "legacy" policies
    When a probe offers only <protocol version> to each broker
    Then the "default" broker <default>
    And the "tls13-only" broker <tls13-only>
    And the "legacy" broker <legacy>

    @broker-aedes
    Examples: Aedes on node:tls
      | protocol version | default                                   | tls13-only                                | legacy      |
      | TLS 1.0          | refused it because "unsupported protocol" | refused it because "unsupported protocol" | accepted it |
      | TLS 1.1          | refused it because "unsupported protocol" | refused it because "unsupported protocol" | accepted it |
      | TLS 1.2          | accepted it                               | refused it because "unsupported protocol" | accepted it |
      | TLS 1.3          | accepted it                               | accepted it                               | accepted it |

    @broker-mosquitto
    Examples: Mosquitto 2.0 on Debian's OpenSSL 3.0 (no tls_version below tlsv1.1)
      | protocol version | default                                   | tls13-only                                | legacy                                    |
      | TLS 1.0          | refused it because "unsupported protocol" | refused it because "unsupported protocol" | refused it because "unsupported protocol" |
      | TLS 1.1          | refused it because "unsupported protocol" | refused it because "unsupported protocol" | accepted it                               |
      | TLS 1.2          | accepted it                               | refused it because "unsupported protocol" | accepted it                               |
      | TLS 1.3          | accepted it                               | accepted it                               | accepted it                               |

  @wearable-client
  Scenario: The secure wearable's ClientHello offers only TLS 1.3 and its AEAD suites
    Given a cloud broker with the "default" policy
    When wearable-0001 with the "secure" profile connects to the broker through a captured link
    Then the captured ClientHello offers only TLS 1.3
    And the captured ClientHello offers only the cipher suites TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256
    And the captured ClientHello offers no CBC suite and no RSA key-exchange suite
    And the broker recorded a TLSv1.3 handshake with wearable-0001

  @wearable-client
  Scenario: A legacy device offering only TLS_RSA_WITH_AES_128_CBC_SHA is refused by the default broker
    Given a cloud broker with the "default" policy
    When wearable-0001 with the "legacy-tls12-cbc" profile connects to the broker through a captured link
    Then the captured ClientHello offers only TLS 1.2
    And the captured ClientHello offers only the cipher suites TLS_RSA_WITH_AES_128_CBC_SHA
    And the broker refused the wearable's handshake because "no shared cipher"
    And the wearable got no MQTT session

  @wearable-client @broker-aedes
  Scenario: The pitfall: a legacy broker lets the same device in over RSA key transport and CBC
    Given a cloud broker with the "legacy" policy
    When wearable-0001 with the "legacy-tls12-cbc" profile connects to the broker through a captured link
    Then the captured ClientHello offers only TLS 1.2
    And the broker recorded a TLSv1.2 handshake with wearable-0001 using TLS_RSA_WITH_AES_128_CBC_SHA

  @wearable-client @broker-mosquitto
  Scenario: On Mosquitto the legacy broker still refuses that device, for want of an RSA certificate rather than by its policy
    Given a cloud broker with the "legacy" policy
    When wearable-0001 with the "legacy-tls12-cbc" profile connects to the broker through a captured link
    Then the captured ClientHello offers only TLS 1.2
    And the broker refused the wearable's handshake because "no shared cipher"
    And the wearable got no MQTT session

  @needs-sslscan
  Scenario Outline: sslscan, an independent scanner, agrees with the "<policy>" broker's policy
    Given a cloud broker with the "<policy>" policy
    When sslscan scans the broker presenting wearable-0001's certificate
    Then sslscan finds exactly <enabled> enabled
    And sslscan finds <legacy suites> among the accepted suites
    And sslscan finds every accepted suite also accepted by a probe of ours

    @broker-aedes
    Examples: Aedes on node:tls
      | policy     | enabled                               | legacy suites                              |
      | default    | TLS 1.2 and TLS 1.3                   | no CBC suite and no RSA key-exchange suite |
      | tls13-only | TLS 1.3                               | no CBC suite and no RSA key-exchange suite |
      | legacy     | TLS 1.0, TLS 1.1, TLS 1.2 and TLS 1.3 | TLS_RSA_WITH_AES_128_CBC_SHA               |

    @broker-mosquitto
    Examples: Mosquitto (sslscan from the probe's container)
      | policy     | enabled                      | legacy suites                              |
      | default    | TLS 1.2 and TLS 1.3          | no CBC suite and no RSA key-exchange suite |
      | tls13-only | TLS 1.3                      | no CBC suite and no RSA key-exchange suite |
      | legacy     | TLS 1.1, TLS 1.2 and TLS 1.3 | TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA       |
