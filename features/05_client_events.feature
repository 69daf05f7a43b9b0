Feature: Client events
  A subscribed client may send client- events on private and presence channels, when the app
  allows them. They reach the other subscribers, never the sender; on presence channels the
  server adds the sender's user_id; more than 10 a second are refused with 4301.

  @id:CEV-001 @must @cap:client-events @spec:3
  Scenario: A client event reaches the other subscribers and not the sender
    Client events reach the other subscribers of the channel and are not echoed to the sender.
    Given clients "alice" and "bob" are connected
    And "alice" subscribes to "private-chat.3" with a valid signature
    And "bob" subscribes to "private-chat.3" with a valid signature
    And "alice" is subscribed to "private-chat.3" within 2s
    And "bob" is subscribed to "private-chat.3" within 2s
    When "alice" triggers "client-typing" on "private-chat.3" with data {"typing":true}
    Then "bob" receives "client-typing" on "private-chat.3" within 2s
    And its data is:
      """
      {"typing":true}
      """
    And "alice" does not receive "client-typing" within 1s

  @id:CEV-002 @must @cap:client-events @cap:presence @spec:3
  Scenario: On a presence channel the server adds the sender's user_id
    On presence channels the server adds the sender's user_id at the top level of the delivered client event.
    Given clients "alice" and "bob" are connected
    And "alice" joins "presence-event.7.seats" as "u1"
    And "bob" joins "presence-event.7.seats" as "u2"
    And "alice" is subscribed to "presence-event.7.seats" within 2s
    And "bob" is subscribed to "presence-event.7.seats" within 2s
    When "alice" triggers "client-seat.changed" on "presence-event.7.seats" with data {"seats":["A1"],"action":"select"}
    Then "bob" receives "client-seat.changed" on "presence-event.7.seats" from "u1" within 2s

  @id:CEV-003 @must @cap:client-events @spec:3
  Scenario: A client that is not subscribed cannot send client events
    The sender of a client event must be subscribed to the channel.
    Given clients "alice" and "mallory" are connected
    And "alice" subscribes to "private-chat.3" with a valid signature
    And "alice" is subscribed to "private-chat.3" within 2s
    When "mallory" triggers "client-spam" on "private-chat.3" with data {"x":1}
    Then "alice" does not receive "client-spam" within 1s

  @id:CEV-004 @should @cap:client-events @spec:3
  Scenario: Client events on a public channel are not relayed
    Client events are accepted only on private and presence channels.
    Given clients "alice" and "bob" are connected
    And "alice" subscribes to "event.1"
    And "bob" subscribes to "event.1"
    And "alice" is subscribed to "event.1" within 2s
    And "bob" is subscribed to "event.1" within 2s
    When "alice" triggers "client-hello" on "event.1" with data {"x":1}
    Then "bob" does not receive "client-hello" within 1s

  @id:CEV-007 @info @cap:client-events @spec:3
  Scenario: The reply to a client event on a public channel is recorded
    The protocol defines no reply to a client event on a public channel: what the server sends is recorded.
    Given the client "alice" is connected
    And "alice" subscribes to "event.1"
    And "alice" is subscribed to "event.1" within 2s
    When "alice" triggers "client-hello" on "event.1" with data {"x":1}
    Then the reply "alice" gets within 2s is recorded

  @id:CEV-005 @should @cap:client-events @spec:3
  Scenario: An event without the client- prefix from a client is not relayed
    A client event's name must start with client-: another name from a client is not relayed.
    Given clients "alice" and "bob" are connected
    And "alice" subscribes to "private-chat.3" with a valid signature
    And "bob" subscribes to "private-chat.3" with a valid signature
    And "alice" is subscribed to "private-chat.3" within 2s
    And "bob" is subscribed to "private-chat.3" within 2s
    When "alice" triggers "order.updated" on "private-chat.3" with data {"status":"paid"}
    Then "bob" does not receive "order.updated" within 1s

  @id:CEV-006 @should @cap:client-events @needs:control @spec:1.6
  Scenario: A client event of an app with client events disabled is answered with 4301
    Client events must be enabled per app; a refused client event is answered with 4301.
    Given an app with client events disabled
    And the client "alice" is connected
    And "alice" subscribes to "private-chat.3" with a valid signature
    And "alice" is subscribed to "private-chat.3" within 2s
    When "alice" triggers "client-typing" on "private-chat.3" with data {"typing":true}
    Then "alice" receives a pusher:error with code 4301 within 2s

  @id:CEV-008 @must @cap:client-events @needs:control @spec:3
  Scenario: Client events of an app with client events disabled are not relayed
    Client events must be enabled per app: when they are not, none is relayed.
    Given an app with client events disabled
    And clients "alice" and "bob" are connected
    And "alice" subscribes to "private-chat.3" with a valid signature
    And "bob" subscribes to "private-chat.3" with a valid signature
    And "alice" is subscribed to "private-chat.3" within 2s
    And "bob" is subscribed to "private-chat.3" within 2s
    When "alice" triggers "client-typing" on "private-chat.3" with data {"typing":true}
    Then "bob" does not receive "client-typing" within 1s

  @id:CEV-009 @must @cap:client-events @spec:3
  Scenario: A client event that is not valid UTF-8 is never relayed
    Frames are UTF-8 JSON text: the bytes of a client event that is not UTF-8 never reach the other subscribers, whose clients would drop the connection on them.
    Given clients "alice" and "bob" are connected
    And "alice" subscribes to "private-chat.3" with a valid signature
    And "bob" subscribes to "private-chat.3" with a valid signature
    And "alice" is subscribed to "private-chat.3" within 2s
    And "bob" is subscribed to "private-chat.3" within 2s
    When "alice" triggers "client-typing" on "private-chat.3" with data that is not valid UTF-8
    Then "bob" receives nothing that is not valid UTF-8 within 1s
