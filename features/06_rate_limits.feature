Feature: Rate limits
  A connection may send at most 10 client events a second. The 11th is refused with
  pusher:error 4301, and the connection stays open.

  @id:RATE-001 @must @checklist:11 @cap:client-events @cap:rate-limits @spec:3
  Scenario: The 11th client event in a second is refused with 4301 without closing
    At most 10 client events a second per connection; the excess is refused with 4301, and 43xx codes are not fatal.
    Given clients "alice" and "bob" are connected
    And "alice" subscribes to "private-chat.3" with a valid signature
    And "bob" subscribes to "private-chat.3" with a valid signature
    And "alice" is subscribed to "private-chat.3" within 2s
    And "bob" is subscribed to "private-chat.3" within 2s
    When "alice" triggers "client-flood" on "private-chat.3" 11 times at once
    Then "alice" receives a pusher:error with code 4301 within 2s
    And "bob" receives 10 "client-flood" on "private-chat.3" within 2s
    And "bob" receives no more "client-flood" on "private-chat.3" within 1s
    And "alice" stays connected

  @id:RATE-002 @should @checklist:11 @cap:client-events @cap:rate-limits @spec:3
  Scenario: After the burst, client events flow again
    The limit is a rate: once the second has passed, client events flow again.
    Given clients "alice" and "bob" are connected
    And "alice" subscribes to "private-chat.3" with a valid signature
    And "bob" subscribes to "private-chat.3" with a valid signature
    And "alice" is subscribed to "private-chat.3" within 2s
    And "bob" is subscribed to "private-chat.3" within 2s
    When "alice" triggers "client-flood" on "private-chat.3" 11 times at once
    And "alice" receives a pusher:error with code 4301 within 2s
    And 1.2s pass
    And "alice" triggers "client-again" on "private-chat.3" with data {"x":1}
    Then "bob" receives "client-again" on "private-chat.3" within 2s
