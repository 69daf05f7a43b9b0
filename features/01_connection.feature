Feature: Connection
  A client connects to /app/{key}?protocol=7 and gets pusher:connection_established with a
  socket_id and an activity_timeout; bad keys and versions are refused with the close codes of
  the protocol; either side may ping, and any frame counts as life.

  @id:CONN-001 @must @checklist:1 @spec:1.3
  Scenario: Connection established with a socket id and an activity timeout
    The server's first frame is pusher:connection_established; its data is a JSON string with socket_id (two integers joined by a dot) and activity_timeout in seconds.
    When a client "alice" connects
    Then "alice" receives "pusher:connection_established" within 2s
    And its data is a JSON string with a socket_id of two integers joined by a dot
    And its data has a positive integer activity_timeout

  @id:CONN-002 @must @checklist:1 @spec:1.3
  Scenario: Every connection gets its own socket id
    socket_id identifies one connection: no two connections share it.
    Given clients "alice" and "bob" are connected
    Then "alice" and "bob" have different socket ids

  @id:CONN-003 @must @spec:1.6
  Scenario: An unknown app key is refused with 4001
    4001: Application does not exist. A key the server does not know is refused with this code.
    When a client "mallory" connects with the app key "no-such-app-key"
    Then "mallory" receives a pusher:error with code 4001 within 2s
    And "mallory" is closed with code 4001 within 2s

  @id:CONN-004 @should @spec:1.1
  Scenario: A connection without a protocol version is refused with 4008
    Without protocol, the fallback is deprecated and will become error 4008, No protocol version supplied.
    When a client "old" connects with the query "?client=js&version=1.0"
    Then "old" is closed with code 4008 within 2s

  @id:CONN-005 @should @spec:1.6
  Scenario: A malformed protocol version is refused with 4006
    4006: Invalid version string format.
    When a client "odd" connects with the query "?protocol=seven"
    Then "odd" is closed with code 4006 within 2s

  @id:CONN-006 @should @spec:1.6
  Scenario: An unsupported protocol version is refused with 4007
    4007: Unsupported protocol version (1 to 3 are unsupported; the current version is 7).
    When a client "old" connects with the query "?protocol=3"
    Then "old" is closed with code 4007 within 2s

  @id:CONN-007 @must @spec:1.4
  Scenario: A client ping gets a pong
    Either side may send pusher:ping; the peer must answer pusher:pong.
    Given the client "alice" is connected
    When "alice" sends:
      """
      {"event":"pusher:ping","data":{}}
      """
    Then "alice" receives "pusher:pong" within 2s

  @id:CONN-008 @should @spec:1.1
  Scenario: A binary frame leaves the connection open
    Frames are UTF-8 JSON text; binary frames are not supported. The protocol defines no close for one, so the connection should go on.
    Given the client "alice" is connected
    When "alice" sends a binary frame
    Then "alice" stays connected

  @id:CONN-018 @should @spec:1.1
  Scenario: A text frame that is not valid UTF-8 fails the connection with 1007
    Frames are UTF-8 JSON text: a text frame that is not UTF-8 fails the WebSocket connection (RFC 6455 8.1), with close code 1007 (7.4.1).
    Given the client "alice" is connected
    When "alice" sends a text frame that is not valid UTF-8
    Then "alice" is closed with code 1007 within 2s

  @id:CONN-015 @info @spec:1.5
  Scenario: The reply to a binary frame is recorded
    The protocol defines no reply to a binary frame: what the server sends is recorded.
    Given the client "alice" is connected
    When "alice" sends a binary frame
    Then the reply "alice" gets within 2s is recorded

  @id:CONN-009 @should @spec:1.2
  Scenario: Invalid JSON leaves the connection open
    Every message is a JSON object. The protocol defines no close for one that is not, so the connection should go on.
    Given the client "alice" is connected
    When "alice" sends:
      """
      {"event":"pusher:subscribe","data":
      """
    Then "alice" stays connected

  @id:CONN-016 @info @spec:1.5
  Scenario: The reply to invalid JSON is recorded
    The protocol defines no reply to a frame that is not JSON: what the server sends is recorded.
    Given the client "alice" is connected
    When "alice" sends:
      """
      {"event":"pusher:subscribe","data":
      """
    Then the reply "alice" gets within 2s is recorded

  @id:CONN-010 @should @spec:1.5
  Scenario: An unknown pusher: event leaves the connection open
    The protocol defines no close for an unknown pusher: event, so the connection should go on.
    Given the client "alice" is connected
    When "alice" sends:
      """
      {"event":"pusher:dance","data":{}}
      """
    Then "alice" stays connected

  @id:CONN-017 @info @spec:1.5
  Scenario: The reply to an unknown pusher: event is recorded
    The protocol defines no reply to an unknown pusher: event: what the server sends is recorded.
    Given the client "alice" is connected
    When "alice" sends:
      """
      {"event":"pusher:dance","data":{}}
      """
    Then the reply "alice" gets within 2s is recorded

  @id:CONN-011 @must @needs:control @spec:1.4
  Scenario: The server pings a silent client and closes it with 4201 when no pong comes
    A server that pings and gets no pong closes with 4201, Pong reply not received.
    Given an app with a short activity timeout
    And the client "quiet" is connected
    Then "quiet" receives "pusher:ping" within the activity timeout
    And "quiet" is closed with code 4201 within the pong timeout

  @id:CONN-012 @must @needs:control @spec:1.4
  Scenario: A client that answers the server's ping stays connected
    Any message counts as liveness: a client that answers the server's ping keeps its connection.
    Given an app with a short activity timeout
    And the client "lively" is connected
    When "lively" receives "pusher:ping" within the activity timeout
    And "lively" sends:
      """
      {"event":"pusher:pong","data":{}}
      """
    Then "lively" receives "pusher:ping" within the activity timeout
    And "lively" stays connected

  @id:CONN-013 @should @needs:control @spec:1.6
  Scenario: Over the app's connection quota, a connection is refused with 4004
    4004: Application is over connection quota.
    Given an app with a connection quota
    And the app's connection quota is used up by "holder"
    When a client "over" connects
    Then "over" is closed with code 4004 within 2s

  @id:CONN-014 @info @spec:1.4
  Scenario: The pong's data encoding is recorded
    Servers answer pusher:pong with data {}, "{}" or none: which one is recorded.
    Given the client "alice" is connected
    When "alice" sends:
      """
      {"event":"pusher:ping","data":{}}
      """
    Then "alice" receives "pusher:pong" within 2s
    And its data encoding is recorded
