@up @testssl @recipe-up @needs-testssl
Feature: testssl.sh against the broker of a running testbed, one graph per broker policy
  A security team brings the testbed up with `testbed up --policy <policy>` (the same `up()` the
  TypeScript API offers) and points testssl.sh, an independent scanner, at the cloud broker's
  endpoint on 127.0.0.1 (in containers a relay of ours to Mosquitto on its internal network). Its
  findings are compared with the policy table (emulators/tls-server-policy.ts; source chapter
  §17.3.1, RFC 8996, RFC 9325 §4.1-4.2): the protocol versions (`-p`) and testssl's standard
  cipher categories (`-s`), where AVERAGE holds the obsoleted CBC suites and STRONG the AEAD ones.
  testssl is a bash program that forks per probe, so the three graphs are scanned at once. Its
  own sockets, not `--ssl-native`: with the local OpenSSL 3 only it found no TLS 1.1 on the legacy
  Mosquitto that its sockets find offered, and it cannot try SSLv2, SSLv3, EXPORT, LOW or 3DES.

  Scenario: testssl.sh finds on each broker what its policy allows, and nothing more
    Given the testbed is up once for each of the "default", "tls13-only" and "legacy" broker policies
    When testssl.sh scans each broker's protocols and cipher categories, all at once
    Then testssl.sh's findings on this placement's broker match the policy table:
      | policy     | broker    | protocols offered                | CBC suites  | AEAD suites | NULL, anonymous, export, LOW, 3DES |
      | default    | any       | TLS 1.2, TLS 1.3                 | not offered | offered     | not offered                        |
      | tls13-only | any       | TLS 1.3                          | not offered | offered     | not offered                        |
      | legacy     | aedes     | TLS 1, TLS 1.1, TLS 1.2, TLS 1.3 | offered     | offered     | not offered                        |
      | legacy     | mosquitto | TLS 1.1, TLS 1.2, TLS 1.3        | offered     | offered     | not offered                        |
    And every protocol testssl.sh reports offered lies within its broker's policy versions
    And the policy offer testbed up printed beside each broker names the versions testssl.sh found
