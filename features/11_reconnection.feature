Feature: Reconnection
  Clients reconnect after 4200 (server restart), after a cut network and after the app ends their
  connections. A reconnected client gets a new socket id, resubscribes, and rejoins presence
  channels; the others see it leave and join again, and no ghost member stays behind.

  @id:RECON-001 @should @checklist:12 @needs:control @needs:restart @spec:1.6
  Scenario: A server shutting down closes clients with 4200
    4200-4299 tell clients to reconnect at once: a server shutting down should close its clients with 4200 (another close makes pusher-js wait 1 s).
    Given a server the suite may restart
    And clients "alice" and "bob" are connected
    When the server shuts down
    Then "alice" is closed with code 4200 within 3s
    And "bob" is closed with code 4200 within 3s

  @id:RECON-006 @must @checklist:12 @checklist:4 @cap:presence @needs:control @needs:restart @spec:1.7
  Scenario: After a restart (4200) clients reconnect, resubscribe and rejoin presence
    After a reconnect the client re-subscribes to every channel and rejoins presence channels; the others see it join again.
    Given a server the suite may restart
    And clients "alice" and "bob" are connected
    And "alice" joins "presence-event.7.seats" as "u1"
    And "bob" joins "presence-event.7.seats" as "u2"
    And "alice" is subscribed to "presence-event.7.seats" within 2s
    And "bob" is subscribed to "presence-event.7.seats" within 2s
    When the server restarts
    Then "alice" is closed within 3s
    And "bob" is closed within 3s
    When "bob" reconnects
    And "bob" joins "presence-event.7.seats" as "u2"
    And "bob" is subscribed to "presence-event.7.seats" within 2s
    And "alice" reconnects
    And "alice" joins "presence-event.7.seats" as "u1"
    Then "alice" has a new socket id
    And "alice" is subscribed to "presence-event.7.seats" within 2s
    And its member list is "u1" and "u2"
    And "bob" sees "u1" join "presence-event.7.seats" within 2s

  @id:RECON-002 @must @checklist:12 @spec:1.7
  Scenario: After a cut network the client reconnects with a new socket id and resubscribes
    A reconnected client gets a new socket_id, re-subscribes, and receives the channel's events again.
    Given clients "alice" and "bob" are connected
    And "alice" subscribes to "event.1"
    And "alice" is subscribed to "event.1" within 2s
    When "alice" loses its network
    And "alice" reconnects
    And "alice" subscribes to "event.1"
    Then "alice" has a new socket id
    And "alice" is subscribed to "event.1" within 2s
    When the app triggers "availability.updated" on "event.1" with data "{}"
    Then "alice" receives "availability.updated" on "event.1" within 2s

  @id:RECON-003 @must @checklist:12 @cap:presence @spec:2.4
  Scenario: A member whose network is cut leaves, and joins again on reconnecting
    A member whose connection is gone is removed (member_removed), and joins again when it comes back.
    Given clients "alice" and "bob" are connected
    And "alice" joins "presence-event.7.seats" as "u1"
    And "bob" joins "presence-event.7.seats" as "u2"
    And "alice" is subscribed to "presence-event.7.seats" within 2s
    And "bob" is subscribed to "presence-event.7.seats" within 2s
    When "alice" loses its network
    Then "bob" sees "u1" leave "presence-event.7.seats" within 3s
    When "alice" reconnects
    And "alice" joins "presence-event.7.seats" as "u1"
    Then "alice" is subscribed to "presence-event.7.seats" within 2s
    And its member list is "u1" and "u2"
    And "bob" sees "u1" join "presence-event.7.seats" within 2s

  @id:RECON-004 @must @checklist:12 @cap:user-auth @cap:terminate @spec:4.4
  Scenario: After terminate_connections the user can connect again and sign in
    terminate_connections ends the user's connections; the user may connect and sign in again.
    Given the client "alice" is connected
    And "alice" signs in as "u1"
    And "alice" is signed in as "u1" within 2s
    When the app terminates the connections of "u1"
    Then "alice" is closed with code 4009 within 2s
    When "alice" reconnects
    And "alice" signs in as "u1"
    Then "alice" has a new socket id
    And "alice" is signed in as "u1" within 2s

  @id:RECON-005 @must @checklist:12 @cap:presence @spec:2.4
  Scenario: No ghost member after many reconnects
    member_removed after the last connection leaves, every time: no member stays listed after it left.
    Given clients "alice" and "bob" are connected
    And "bob" joins "presence-room" as "u2"
    And "bob" is subscribed to "presence-room" within 2s
    When "alice" joins "presence-room" as "u1"
    And "alice" is subscribed to "presence-room" within 2s
    And "bob" sees "u1" join "presence-room" within 2s
    And "alice" loses its network
    And "bob" sees "u1" leave "presence-room" within 3s
    And "alice" reconnects
    And "alice" joins "presence-room" as "u1"
    And "alice" is subscribed to "presence-room" within 2s
    And "bob" sees "u1" join "presence-room" within 2s
    And "alice" loses its network
    And "bob" sees "u1" leave "presence-room" within 3s
    And the client "carol" is connected
    And "carol" joins "presence-room" as "u3"
    Then "carol" is subscribed to "presence-room" within 2s
    And its member list is "u2" and "u3"
