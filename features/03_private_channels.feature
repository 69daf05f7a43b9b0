Feature: Private channels
  Subscribing to a private- channel needs auth "<key>:<HMAC-SHA256 of socket_id:channel>" from
  the application backend. A forged signature, a signature made for another connection or
  under another key, and a missing auth are refused, and the refused client gets no events.

  @id:PRIV-001 @must @checklist:3 @spec:2.3
  Scenario: A valid signature subscribes
    A private- subscription carries auth = <key>:<hex HMAC-SHA256 of socket_id:channel under the secret>; with a valid one it succeeds.
    Given the client "alice" is connected
    When "alice" subscribes to "private-customer.5" with a valid signature
    Then "alice" is subscribed to "private-customer.5" within 2s

  @id:PRIV-002 @must @checklist:3 @spec:2.3
  Scenario: A forged signature is refused
    A private- subscription with a signature not made with the app secret is refused.
    Given the client "mallory" is connected
    When "mallory" subscribes to "private-customer.5" with a forged signature
    Then "mallory" is refused "private-customer.5" within 2s

  @id:PRIV-003 @must @checklist:3 @spec:2.3
  Scenario: A signature made for another connection is refused
    The signature covers the socket_id: one made for another connection is refused.
    Given clients "alice" and "mallory" are connected
    When "mallory" subscribes to "private-customer.5" with a signature for "alice"
    Then "mallory" is refused "private-customer.5" within 2s

  @id:PRIV-004 @must @checklist:3 @spec:2.2
  Scenario: A subscription without auth is refused
    auth is required for private-, private-encrypted- and presence- channels: without it the subscription is refused.
    Given the client "mallory" is connected
    When "mallory" subscribes to "private-customer.5" with no auth
    Then "mallory" is refused "private-customer.5" within 2s

  @id:PRIV-005 @should @checklist:3 @spec:2.3
  Scenario: A right signature under another key is refused
    auth is <app_key>:<signature>: a right signature under another key should be refused.
    Given the client "mallory" is connected
    When "mallory" subscribes to "private-customer.5" with a signature under another key
    Then "mallory" is refused "private-customer.5" within 2s

  @id:PRIV-006 @must @checklist:3 @spec:2.3
  Scenario: Events of a private channel reach only its authorized subscribers
    Events of a private channel reach only the connections whose subscription was authorized.
    Given clients "alice" and "mallory" are connected
    And "alice" subscribes to "private-customer.5" with a valid signature
    And "alice" is subscribed to "private-customer.5" within 2s
    And "mallory" subscribes to "private-customer.5" with a forged signature
    And "mallory" is refused "private-customer.5" within 2s
    When the app triggers "order.updated" on "private-customer.5" with data "{\"status\":\"paid\"}"
    Then "alice" receives "order.updated" on "private-customer.5" within 2s
    And "mallory" does not receive "order.updated" within 1s

  @id:PRIV-007 @should @spec:2.1
  Scenario: A name starting with "private" but without the hyphen is public
    The prefix is private- with the hyphen: privatefoo is a public channel.
    Given the client "alice" is connected
    When "alice" subscribes to "privatefoo" with no auth
    Then "alice" is subscribed to "privatefoo" within 2s

  @id:PRIV-008 @should @spec:1.5
  Scenario: A refused subscription leaves the connection open
    A refused subscription is answered with pusher:error, a non-fatal error: the connection and its other channels should go on.
    Given the client "mallory" is connected
    When "mallory" subscribes to "private-customer.5" with a forged signature
    And "mallory" is refused "private-customer.5" within 2s
    Then "mallory" stays connected
