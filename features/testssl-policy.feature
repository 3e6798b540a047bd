@up @testssl @recipe-tls-policy @needs-testssl
Feature: testssl.sh against each broker policy
  A security team points testssl.sh, an independent scanner, at the cloud broker from this
  machine (127.0.0.1; in containers through a relay to the broker on its internal network) and
  compares what it finds with the policy table (emulators/tls-server-policy.ts). testssl is slow,
  so it checks only the protocols (`-p`); the suites are cross-checked by sslscan in @tls-policy.

  Scenario Outline: testssl.sh finds the protocols the "<policy>" policy allows
    Given a cloud broker serving the "<policy>" policy, reachable from this machine
    When testssl.sh scans the broker's protocols
    Then testssl.sh reports exactly <offered> offered
    And every protocol testssl.sh reports offered lies within the policy's versions

    Examples:
      | policy     | offered          |
      | default    | TLS 1.2, TLS 1.3 |
      | tls13-only | TLS 1.3          |

    @broker-aedes
    Examples: Aedes (node:tls at SECLEVEL=0) takes every version the legacy policy names
      | policy | offered                          |
      | legacy | TLS 1, TLS 1.1, TLS 1.2, TLS 1.3 |

    @broker-mosquitto
    Examples: Mosquitto cannot be told TLS 1.0 (its tls_version is a minimum from TLS 1.1)
      | policy | offered                  |
      | legacy | TLS 1.1, TLS 1.2, TLS 1.3 |
