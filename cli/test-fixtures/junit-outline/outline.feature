Feature: A JUnit fixture
  Scenario Outline: a "<case>" row is skipped with its reason
    Given the placement cannot realize the "<case>" row

    Examples:
      | case  |
      | first |

    Examples: a second table
      | case   |
      | second |
