Feature: Cache channels
  A cache- channel remembers the last event published through the HTTP API. A new subscriber gets
  it right after subscription_succeeded, or pusher:cache_miss when there is none.

  @id:CACHE-001 @must @cap:cache-channels @spec:2.6
  Scenario: A subscriber of an empty cache channel gets pusher:cache_miss
    On subscribing to a cache channel with nothing cached, the server sends pusher:cache_miss.
    Given the client "alice" is connected
    When "alice" subscribes to "cache-event.1"
    Then "alice" is subscribed to "cache-event.1" within 2s
    And "alice" receives "pusher:cache_miss" on "cache-event.1" within 2s

  @id:CACHE-002 @must @cap:cache-channels @spec:2.6
  Scenario: A new subscriber gets the last event at once
    A cache channel remembers the last event published through the HTTP API and sends it right after subscription_succeeded.
    Given clients "alice" and "bob" are connected
    And "alice" subscribes to "cache-event.1"
    And "alice" is subscribed to "cache-event.1" within 2s
    And the app triggers "availability.updated" on "cache-event.1" with data "{\"left\":9}"
    And the app triggers "availability.updated" on "cache-event.1" with data "{\"left\":8}"
    When "bob" subscribes to "cache-event.1"
    Then "bob" is subscribed to "cache-event.1" within 2s
    And "bob" receives "availability.updated" on "cache-event.1" with data "{\"left\":8}" within 2s
    And "bob" does not receive "pusher:cache_miss" within 1s

  @id:CACHE-003 @should @cap:cache-channels @cap:http-api @spec:5.6
  Scenario: The HTTP API tells the cached event
    GET /channels/{name}?info=cache returns cache: {data, ttl} for a cache channel.
    Given the app triggers "availability.updated" on "cache-event.1" with data "{\"left\":7}"
    When the app sends GET "/channels/{channel:cache-event.1}?info=cache"
    Then the API answers 200 with:
      """
      {"cache":{"data":"{\"left\":7}"}}
      """
