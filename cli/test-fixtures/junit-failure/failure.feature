Feature: A JUnit failure fixture
  Scenario Outline: A MITM presents "<case>" to "<client>": <result>
    Given the "<client>" client meets a MITM presenting "<case>"
    Then the interception is reported as "<result>"

    Examples:
      | case        | client | result      |
      | self-signed | secure | blocked     |
      | self-signed | secure | intercepted |
