Feature: User sign-in and server-to-user events
  A connection signs in with pusher:signin, signed over socket_id::user::user_data. Only the
  signed-in connection of a user may subscribe to #server-to-user-<id>, where the app sends that
  user's personal events. Watchers learn when users they watch go online and offline, and
  terminate_connections closes a user's signed-in connections.

  @id:USER-001 @must @cap:user-auth @spec:4.1
  Scenario: A valid sign-in succeeds and echoes the user data
    A pusher:signin signed over socket_id::user::user_data succeeds with pusher:signin_success echoing user_data.
    Given the client "alice" is connected
    When "alice" signs in as "u1"
    Then "alice" is signed in as "u1" within 2s

  @id:USER-002 @must @cap:user-auth @spec:4.1
  Scenario: A forged sign-in is refused
    A sign-in whose signature is not the app's fails with pusher:error (4009).
    Given the client "mallory" is connected
    When "mallory" signs in as "u1" with a forged signature
    Then the sign-in of "mallory" is refused within 2s

  @id:USER-003 @must @cap:user-auth @checklist:9 @spec:4.2
  Scenario: Events sent to a user reach its signed-in connection
    Events sent to a user (POST /events to #server-to-user-<id>) reach that user's signed-in connection.
    Given the client "alice" is connected
    And "alice" signs in as "u1"
    And "alice" is signed in as "u1" within 2s
    And "alice" subscribes to the server-to-user channel of "u1"
    And "alice" is subscribed to the server-to-user channel of "u1" within 2s
    When the app sends "notification" to user "u1" with data "{\"title\":\"Doors open\"}"
    Then "alice" receives "notification" on the server-to-user channel of "u1" within 2s

  @id:USER-004 @must @cap:user-auth @spec:4.1
  Scenario: Another connection receives none of a user's personal events
    Only the connection signed in as a user may receive #server-to-user-<id>: another must receive none of its events.
    Given clients "alice" and "mallory" are connected
    And "alice" signs in as "u1"
    And "alice" is signed in as "u1" within 2s
    And "alice" subscribes to the server-to-user channel of "u1"
    And "alice" is subscribed to the server-to-user channel of "u1" within 2s
    When "mallory" subscribes to the server-to-user channel of "u1"
    And the server has read what "mallory" sent
    And the app sends "notification" to user "u1" with data "{\"title\":\"for u1 only\"}"
    Then "alice" receives "notification" on the server-to-user channel of "u1" within 2s
    And "mallory" does not receive "notification" within 1s

  @id:USER-008 @should @cap:user-auth @spec:4.1
  Scenario: A subscription to another user's personal channel is refused
    The server accepts a subscription to #server-to-user-<id> from that signed-in connection only: another's should be refused.
    Given clients "alice" and "mallory" are connected
    And "alice" signs in as "u1"
    And "alice" is signed in as "u1" within 2s
    When "mallory" subscribes to the server-to-user channel of "u1"
    Then "mallory" is refused the server-to-user channel of "u1" within 2s

  @id:USER-005 @should @cap:user-auth @cap:watchlist @spec:4.3
  Scenario: A watcher learns the online state of its watchlist and its changes
    After sign-in the server sends the online state of the watchlist's users, then every change.
    Given clients "alice", "bob" and "carol" are connected
    And "alice" signs in as "u1"
    And "alice" is signed in as "u1" within 2s
    When "bob" signs in as "u2" watching "u1" and "u3"
    Then "bob" sees "u1" online within 2s
    And "bob" sees "u3" offline within 2s
    When "carol" signs in as "u3"
    Then "bob" sees "u3" online within 2s
    When "carol" disconnects
    Then "bob" sees "u3" offline within 2s

  @id:USER-006 @should @cap:user-auth @cap:watchlist @spec:4.3
  Scenario: A watchlist of more than 100 users gets 4302 after the sign-in
    Over 100 watched ids: the first 100 are accepted, the sign-in succeeds, and pusher:error 4302 follows.
    Given the client "alice" is connected
    When "alice" signs in as "u1" watching 101 users
    Then "alice" is signed in as "u1" within 2s
    And "alice" receives a pusher:error with code 4302 within 2s

  @id:USER-007 @must @cap:user-auth @cap:terminate @spec:4.4
  Scenario: terminate_connections closes the user's signed-in connections only
    terminate_connections affects only connections authenticated by sign-in.
    Given clients "tab1", "tab2" and "bob" are connected
    And "tab1" signs in as "u1"
    And "tab2" signs in as "u1"
    And "bob" signs in as "u2"
    And "tab1" is signed in as "u1" within 2s
    And "tab2" is signed in as "u1" within 2s
    And "bob" is signed in as "u2" within 2s
    When the app terminates the connections of "u1"
    Then "tab1" is closed with code 4009 within 2s
    And "tab2" is closed with code 4009 within 2s
    And "bob" stays connected
