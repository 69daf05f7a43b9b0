Feature: HTTP API
  The application backend publishes and queries through the HTTP API. Every request is signed:
  lowercased sorted query, body_md5 of the body, auth_timestamp within 600 s. Limits: 10 KB of
  data, 100 channels per event, 10 events per batch.

  @id:API-001 @must @cap:http-api @spec:5.3
  Scenario: A signed publish is accepted with 200
    A signed POST /apps/{app_id}/events is answered 200.
    When the app sends POST "/events" with the body:
      """
      {"name":"availability.updated","data":"{}","channels":["{channel:event.1}"]}
      """
    Then the API answers 200

  @id:API-021 @should @cap:http-api @spec:5.3
  Scenario: A publish without info answers exactly {}
    A publish without info answers {}.
    When the app sends POST "/events" with the body:
      """
      {"name":"availability.updated","data":"{}","channels":["{channel:event.1}"]}
      """
    Then the API answers 200 with exactly:
      """
      {}
      """

  @id:API-002 @must @cap:http-api @spec:5.2
  Scenario: A bad signature is refused with 401
    Every request must be signed; a wrong auth_signature is refused with 401.
    When the app sends POST "/events" with a bad signature and the body:
      """
      {"name":"x","data":"{}","channels":["{channel:event.1}"]}
      """
    Then the API answers 401

  @id:API-003 @should @cap:http-api @spec:5.2
  Scenario: A timestamp 610 s old is refused with 401
    auth_timestamp must be within 600 s of the server's time: older should be refused with 401.
    When the app sends POST "/events" with a stale timestamp and the body:
      """
      {"name":"x","data":"{}","channels":["{channel:event.1}"]}
      """
    Then the API answers 401

  @id:API-004 @should @cap:http-api @spec:5.2
  Scenario: A timestamp 610 s ahead is refused with 401
    auth_timestamp must be within 600 s of the server's time: later should be refused with 401.
    When the app sends POST "/events" with a future timestamp and the body:
      """
      {"name":"x","data":"{}","channels":["{channel:event.1}"]}
      """
    Then the API answers 401

  @id:API-005 @must @cap:http-api @spec:5.2
  Scenario: A body_md5 that does not match the body is refused with 401
    body_md5 is the MD5 of the raw body, required when there is one: a wrong one is refused with 401.
    When the app sends POST "/events" with a wrong body_md5 and the body:
      """
      {"name":"x","data":"{}","channels":["{channel:event.1}"]}
      """
    Then the API answers 401

  @id:API-006 @should @cap:http-api @spec:5.2
  Scenario: Query keys are lowercased before signing
    The query is signed with its keys lowercased, then sorted: uppercase keys must still verify.
    When the app sends POST "/events" with uppercase query keys and the body:
      """
      {"name":"x","data":"{}","channels":["{channel:event.1}"]}
      """
    Then the API answers 200

  @id:API-007 @should @cap:http-api @spec:5.3
  Scenario: Data over 10 KB is refused with 413
    data is at most 10 KB; larger is refused with 413.
    When the app triggers "big" on "event.1" with 10241 bytes of data
    Then the API answers 413

  @id:API-008 @must @cap:http-api @spec:5.3
  Scenario: Data of exactly 10 KB is accepted
    data of up to 10 KB (10,240 bytes) is accepted.
    When the app triggers "big" on "event.1" with 10240 bytes of data
    Then the API answers 200

  @id:API-009 @should @cap:http-api @spec:5.3
  Scenario: More than 100 channels in one publish are refused
    channels holds 1 to 100 names: more should be refused with 400.
    When the app triggers "wide" on 101 channels
    Then the API answers 400

  @id:API-010 @should @cap:http-api @spec:5.4
  Scenario: A batch of more than 10 events is refused
    A batch holds up to 10 events: more should be refused with 400.
    When the app sends a batch of 11 events to "event.1"
    Then the API answers 400

  @id:API-011 @must @cap:http-api @spec:5.4
  Scenario: A batch of 10 events reaches the subscriber in order
    POST /batch_events delivers its events, each to its channel, in order.
    Given the client "alice" is connected
    And "alice" subscribes to "event.1"
    And "alice" is subscribed to "event.1" within 2s
    When the app sends a batch of 10 events to "event.1"
    Then the API answers 200
    And "alice" receives the 10 batch events on "event.1" in order within 2s

  @id:API-012 @must @cap:http-api @checklist:7 @spec:5.3
  Scenario: The publisher's socket is excluded when given
    socket_id excludes that connection from the delivery.
    Given clients "alice" and "bob" are connected
    And "alice" joins "presence-event.7.seats" as "u1"
    And "bob" joins "presence-event.7.seats" as "u2"
    And "alice" is subscribed to "presence-event.7.seats" within 2s
    And "bob" is subscribed to "presence-event.7.seats" within 2s
    When the app triggers "seat.changed" on "presence-event.7.seats" with data "{\"seats\":[\"A1\"],\"action\":\"select\"}" excluding "alice"
    Then "bob" receives "seat.changed" on "presence-event.7.seats" within 2s
    And "alice" does not receive "seat.changed" within 1s

  @id:API-013 @should @cap:http-api @cap:presence @spec:5.6
  Scenario: Channel info tells the user count of a presence channel
    info=user_count tells a presence channel's number of distinct users.
    Given clients "alice" and "tab2" are connected
    And "alice" joins "presence-room" as "u1"
    And "tab2" joins "presence-room" as "u1"
    And "alice" is subscribed to "presence-room" within 2s
    And "tab2" is subscribed to "presence-room" within 2s
    When the app sends GET "/channels/{channel:presence-room}?info=user_count"
    Then the API answers 200 with:
      """
      {"user_count":1}
      """

  @id:API-014 @should @cap:http-api @spec:5.6
  Scenario: user_count on a public channel is refused with 400
    user_count on a channel that is not presence is an error, 400.
    When the app sends GET "/channels/{channel:event.1}?info=user_count"
    Then the API answers 400

  @id:API-015 @should @cap:http-api @spec:5.6
  Scenario: An unoccupied channel reads occupied false
    occupied is always present: an empty channel reads occupied false.
    When the app sends GET "/channels/{channel:event.404}"
    Then the API answers 200 with:
      """
      {"occupied":false}
      """

  @id:API-016 @should @cap:http-api @cap:presence @spec:5.7
  Scenario: The users of a presence channel are listed once each
    GET /channels/{name}/users lists each user of a presence channel once.
    Given clients "alice", "tab2" and "bob" are connected
    And "alice" joins "presence-room" as "u1"
    And "tab2" joins "presence-room" as "u1"
    And "bob" joins "presence-room" as "u2"
    And "alice" is subscribed to "presence-room" within 2s
    And "tab2" is subscribed to "presence-room" within 2s
    And "bob" is subscribed to "presence-room" within 2s
    When the app sends GET "/channels/{channel:presence-room}/users"
    Then the API answers 200 with:
      """
      {"users":[{"id":"{user:u1}"},{"id":"{user:u2}"}]}
      """

  @id:API-017 @should @cap:http-api @spec:5.7
  Scenario: Users of a public channel are refused with 400
    /users is for presence channels only; other types are refused with 400.
    When the app sends GET "/channels/{channel:event.1}/users"
    Then the API answers 400

  @id:API-018 @should @cap:http-api @spec:5.5
  Scenario: Listing channels with user_count needs a presence- prefix filter
    info=user_count without a presence- prefix filter is refused with 400.
    When the app sends GET "/channels?info=user_count"
    Then the API answers 400

  @id:API-019 @must @cap:http-api @spec:5.1
  Scenario: A malformed JSON body is refused with 400
    A body that is not valid JSON is refused with 400 and an error detail.
    When the app sends POST "/events" with the body:
      """
      {"name":"x","data":
      """
    Then the API answers 400

  @id:API-020 @should @cap:http-api @spec:5.3
  Scenario: The info of a publish tells the subscription count
    info=subscription_count makes the answer tell each channel's subscription count.
    Given the client "alice" is connected
    And "alice" subscribes to "event.1"
    And "alice" is subscribed to "event.1" within 2s
    When the app sends POST "/events" with the body:
      """
      {"name":"x","data":"{}","channels":["{channel:event.1}"],"info":"subscription_count"}
      """
    Then the API answers 200 with:
      """
      {"channels":{"{channel:event.1}":{"subscription_count":1}}}
      """

  @id:API-022 @should @cap:http-api @spec:5.6
  Scenario: The info of an occupied channel reads occupied true
    occupied is always present: a channel with a subscriber reads occupied true.
    Given the client "alice" is connected
    And "alice" subscribes to "event.1"
    And "alice" is subscribed to "event.1" within 2s
    When the app sends GET "/channels/{channel:event.1}"
    Then the API answers 200 with:
      """
      {"occupied":true}
      """

  @id:API-023 @must @cap:http-api @spec:5.3
  Scenario: A publish naming its one channel in "channel" is delivered
    The body names one channel in channel or several in channels; channel alone is delivered.
    Given the client "alice" is connected
    And "alice" subscribes to "event.1"
    And "alice" is subscribed to "event.1" within 2s
    When the app sends POST "/events" with the body:
      """
      {"name":"availability.updated","data":"{\"left\":3}","channel":"{channel:event.1}"}
      """
    Then the API answers 200
    And "alice" receives "availability.updated" on "event.1" within 2s

  @id:API-024 @should @cap:http-api @spec:5.3
  Scenario: A publish whose body is not valid UTF-8 is refused with 400
    JSON text is UTF-8 (RFC 8259 8.1): a body that is not is malformed, and a malformed request is answered 400.
    When the app triggers "availability.updated" on "event.1" with data that is not valid UTF-8
    Then the API answers 400
