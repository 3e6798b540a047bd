Feature: A report fixture
  Scenario: a chart is attached
    Given a chart is attached to the report

  Scenario: a scenario is skipped with its reason
    Given the placement cannot realize this graph

  Scenario: a forged-certificate cell is recorded
    Given the "secure" client refused the "self-signed" certificate
