Feature: HTTP API
  The application backend publishes and queries through the HTTP API. Every request is signed:
  lowercased sorted query, body_md5 of the body, auth_timestamp within 600 s. Limits: 10 KB of
  data, 100 channels per event, 10 events per batch.

  @id:API-001 @must @cap:http-api
  Scenario: A signed publish is accepted with 200
    When the app sends POST "/events" with the body:
      """
      {"name":"availability.updated","data":"{}","channels":["{channel:event.1}"]}
      """
    Then the API answers 200

  @id:API-021 @should @cap:http-api
  Scenario: A publish without info answers exactly {}
    When the app sends POST "/events" with the body:
      """
      {"name":"availability.updated","data":"{}","channels":["{channel:event.1}"]}
      """
    Then the API answers 200 with exactly:
      """
      {}
      """

  @id:API-002 @must @cap:http-api
  Scenario: A bad signature is refused with 401
    When the app sends POST "/events" with a bad signature and the body:
      """
      {"name":"x","data":"{}","channels":["{channel:event.1}"]}
      """
    Then the API answers 401

  @id:API-003 @should @cap:http-api
  Scenario: A timestamp 610 s old is refused with 401
    When the app sends POST "/events" with a stale timestamp and the body:
      """
      {"name":"x","data":"{}","channels":["{channel:event.1}"]}
      """
    Then the API answers 401

  @id:API-004 @should @cap:http-api
  Scenario: A timestamp 610 s ahead is refused with 401
    When the app sends POST "/events" with a future timestamp and the body:
      """
      {"name":"x","data":"{}","channels":["{channel:event.1}"]}
      """
    Then the API answers 401

  @id:API-005 @must @cap:http-api
  Scenario: A body_md5 that does not match the body is refused with 401
    When the app sends POST "/events" with a wrong body_md5 and the body:
      """
      {"name":"x","data":"{}","channels":["{channel:event.1}"]}
      """
    Then the API answers 401

  @id:API-006 @should @cap:http-api
  Scenario: Query keys are lowercased before signing
    When the app sends POST "/events" with uppercase query keys and the body:
      """
      {"name":"x","data":"{}","channels":["{channel:event.1}"]}
      """
    Then the API answers 200

  @id:API-007 @should @cap:http-api
  Scenario: Data over 10 KB is refused with 413
    When the app triggers "big" on "event.1" with 10241 bytes of data
    Then the API answers 413

  @id:API-008 @must @cap:http-api
  Scenario: Data of exactly 10 KB is accepted
    When the app triggers "big" on "event.1" with 10240 bytes of data
    Then the API answers 200

  @id:API-009 @should @cap:http-api
  Scenario: More than 100 channels in one publish are refused
    When the app triggers "wide" on 101 channels
    Then the API answers 400

  @id:API-010 @should @cap:http-api
  Scenario: A batch of more than 10 events is refused
    When the app sends a batch of 11 events to "event.1"
    Then the API answers 400

  @id:API-011 @must @cap:http-api
  Scenario: A batch of 10 events reaches the subscriber in order
    Given the client "alice" is connected
    And "alice" subscribes to "event.1"
    And "alice" is subscribed to "event.1" within 2s
    When the app sends a batch of 10 events to "event.1"
    Then the API answers 200
    And "alice" receives the 10 batch events on "event.1" in order within 2s

  @id:API-012 @must @cap:http-api @checklist:7
  Scenario: The publisher's socket is excluded when given
    Given clients "alice" and "bob" are connected
    And "alice" joins "presence-event.7.seats" as "u1"
    And "bob" joins "presence-event.7.seats" as "u2"
    And "alice" is subscribed to "presence-event.7.seats" within 2s
    And "bob" is subscribed to "presence-event.7.seats" within 2s
    When the app triggers "seat.changed" on "presence-event.7.seats" with data "{\"seats\":[\"A1\"],\"action\":\"select\"}" excluding "alice"
    Then "bob" receives "seat.changed" on "presence-event.7.seats" within 2s
    And "alice" does not receive "seat.changed" within 1s

  @id:API-013 @should @cap:http-api @cap:presence
  Scenario: Channel info tells the user count of a presence channel
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

  @id:API-014 @should @cap:http-api
  Scenario: user_count on a public channel is refused with 400
    When the app sends GET "/channels/{channel:event.1}?info=user_count"
    Then the API answers 400

  @id:API-015 @should @cap:http-api
  Scenario: An unoccupied channel reads occupied false
    When the app sends GET "/channels/{channel:event.404}"
    Then the API answers 200 with:
      """
      {"occupied":false}
      """

  @id:API-016 @should @cap:http-api @cap:presence
  Scenario: The users of a presence channel are listed once each
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

  @id:API-017 @should @cap:http-api
  Scenario: Users of a public channel are refused with 400
    When the app sends GET "/channels/{channel:event.1}/users"
    Then the API answers 400

  @id:API-018 @should @cap:http-api
  Scenario: Listing channels with user_count needs a presence- prefix filter
    When the app sends GET "/channels?info=user_count"
    Then the API answers 400

  @id:API-019 @must @cap:http-api
  Scenario: A malformed JSON body is refused with 400
    When the app sends POST "/events" with the body:
      """
      {"name":"x","data":
      """
    Then the API answers 400

  @id:API-020 @should @cap:http-api
  Scenario: The info of a publish tells the subscription count
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

  @id:API-022 @should @cap:http-api
  Scenario: The info of an occupied channel reads occupied true
    Given the client "alice" is connected
    And "alice" subscribes to "event.1"
    And "alice" is subscribed to "event.1" within 2s
    When the app sends GET "/channels/{channel:event.1}"
    Then the API answers 200 with:
      """
      {"occupied":true}
      """

  @id:API-023 @must @cap:http-api
  Scenario: A publish naming its one channel in "channel" is delivered
    Given the client "alice" is connected
    And "alice" subscribes to "event.1"
    And "alice" is subscribed to "event.1" within 2s
    When the app sends POST "/events" with the body:
      """
      {"name":"availability.updated","data":"{\"left\":3}","channel":"{channel:event.1}"}
      """
    Then the API answers 200
    And "alice" receives "availability.updated" on "event.1" within 2s
