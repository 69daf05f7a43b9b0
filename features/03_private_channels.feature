Feature: Private channels
  Subscribing to a private- channel needs auth "<key>:<HMAC-SHA256 of socket_id:channel>" from
  the application backend. A forged signature, a signature made for another connection or
  under another key, and a missing auth are refused, and the refused client gets no events.

  @id:PRIV-001 @must @checklist:3
  Scenario: A valid signature subscribes
    Given the client "alice" is connected
    When "alice" subscribes to "private-customer.5" with a valid signature
    Then "alice" is subscribed to "private-customer.5" within 2s

  @id:PRIV-002 @must @checklist:3
  Scenario: A forged signature is refused
    Given the client "mallory" is connected
    When "mallory" subscribes to "private-customer.5" with a forged signature
    Then "mallory" is refused "private-customer.5" within 2s

  @id:PRIV-003 @must @checklist:3
  Scenario: A signature made for another connection is refused
    Given clients "alice" and "mallory" are connected
    When "mallory" subscribes to "private-customer.5" with a signature for "alice"
    Then "mallory" is refused "private-customer.5" within 2s

  @id:PRIV-004 @must @checklist:3
  Scenario: A subscription without auth is refused
    Given the client "mallory" is connected
    When "mallory" subscribes to "private-customer.5" with no auth
    Then "mallory" is refused "private-customer.5" within 2s

  @id:PRIV-005 @should @checklist:3
  Scenario: A right signature under another key is refused
    Given the client "mallory" is connected
    When "mallory" subscribes to "private-customer.5" with a signature under another key
    Then "mallory" is refused "private-customer.5" within 2s

  @id:PRIV-006 @must @checklist:3
  Scenario: Events of a private channel reach only its authorized subscribers
    Given clients "alice" and "mallory" are connected
    And "alice" subscribes to "private-customer.5" with a valid signature
    And "alice" is subscribed to "private-customer.5" within 2s
    And "mallory" subscribes to "private-customer.5" with a forged signature
    And "mallory" is refused "private-customer.5" within 2s
    When the app triggers "order.updated" on "private-customer.5" with data "{\"status\":\"paid\"}"
    Then "alice" receives "order.updated" on "private-customer.5" within 2s
    And "mallory" does not receive "order.updated" within 1s

  @id:PRIV-007 @should
  Scenario: A name starting with "private" but without the hyphen is public
    Given the client "alice" is connected
    When "alice" subscribes to "privatefoo" with no auth
    Then "alice" is subscribed to "privatefoo" within 2s

  @id:PRIV-008 @should
  Scenario: A refused subscription leaves the connection open
    Given the client "mallory" is connected
    When "mallory" subscribes to "private-customer.5" with a forged signature
    And "mallory" is refused "private-customer.5" within 2s
    Then "mallory" stays connected
