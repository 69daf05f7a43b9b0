Feature: Webhooks
  The server posts what happens to the app's channels to the app's webhook URL: a JSON body
  {"time_ms": ..., "events": [...]} with X-Pusher-Key and X-Pusher-Signature, the hex HMAC-SHA256
  of the body with the app secret. The suite runs the receiver (--webhook-listen); the server
  posts the webhooks of app ID to http://ADDR/hooks/ID. Only a request the receiver answered 2xx
  counts as delivered.

  @id:HOOK-001 @must @cap:webhooks @spec:6
  Scenario: channel_occupied comes with the first subscriber, not with the second
    A channel_occupied webhook is sent when a channel gets its first subscriber, once per channel, not per connection.
    Given the suite's webhook receiver
    And clients "alice" and "bob" are connected
    When "alice" subscribes to "hook-room"
    And "alice" is subscribed to "hook-room" within 2s
    And "bob" subscribes to "hook-room"
    And "bob" is subscribed to "hook-room" within 2s
    Then the webhook receiver gets "channel_occupied" for "hook-room" within 5s
    And the webhook receiver gets exactly one "channel_occupied" for "hook-room" in 2s

  @id:HOOK-002 @must @cap:webhooks @spec:6
  Scenario: channel_vacated comes after the last subscriber leaves
    A channel_vacated webhook is sent when a channel's last subscriber leaves (delayed by up to 3 s).
    Given the suite's webhook receiver
    And the client "alice" is connected
    And "alice" subscribes to "hook-room"
    And "alice" is subscribed to "hook-room" within 2s
    When "alice" disconnects
    Then the webhook receiver gets "channel_vacated" for "hook-room" within 8s

  @id:HOOK-003 @must @cap:webhooks @spec:6
  Scenario: No channel_vacated while another subscriber remains
    A channel is vacated only when it has no subscriber left: one of two leaving sends no channel_vacated.
    Given the suite's webhook receiver
    And clients "alice" and "bob" are connected
    And "alice" subscribes to "hook-room"
    And "alice" is subscribed to "hook-room" within 2s
    And "bob" subscribes to "hook-room"
    And "bob" is subscribed to "hook-room" within 2s
    When "alice" disconnects
    Then the webhook receiver gets no "channel_vacated" for "hook-room" in 5s

  @id:HOOK-004 @must @cap:webhooks @cap:presence @spec:6
  Scenario: member_added comes once per user, whatever its number of tabs
    A member_added webhook is sent when a user joins a presence channel, once per user, not per connection.
    Given the suite's webhook receiver
    And clients "tab1" and "tab2" are connected
    When "tab1" joins "presence-hook" as "ada"
    And "tab1" is subscribed to "presence-hook" within 2s
    And "tab2" joins "presence-hook" as "ada"
    And "tab2" is subscribed to "presence-hook" within 2s
    Then the webhook receiver gets "member_added" for "presence-hook" of "ada" within 5s
    And the webhook receiver gets exactly one "member_added" for "presence-hook" of "ada" in 2s

  @id:HOOK-005 @must @cap:webhooks @cap:presence @spec:6
  Scenario: member_removed comes after the user's last tab leaves, once
    A member_removed webhook is sent when a user's last connection leaves a presence channel, not before, and once.
    Given the suite's webhook receiver
    And clients "tab1", "tab2" and "bob" are connected
    And "bob" joins "presence-hook" as "bob"
    And "bob" is subscribed to "presence-hook" within 2s
    And "tab1" joins "presence-hook" as "ada"
    And "tab1" is subscribed to "presence-hook" within 2s
    And "tab2" joins "presence-hook" as "ada"
    And "tab2" is subscribed to "presence-hook" within 2s
    When "tab1" disconnects
    Then the webhook receiver gets no "member_removed" for "presence-hook" of "ada" in 5s
    When "tab2" disconnects
    Then the webhook receiver gets "member_removed" for "presence-hook" of "ada" within 8s
    And the webhook receiver gets exactly one "member_removed" for "presence-hook" of "ada" in 2s

  @id:HOOK-006 @must @cap:webhooks @cap:client-events @cap:presence @spec:6
  Scenario: client_event carries the channel, event, data, socket id and user
    A client_event webhook carries channel, event, data (a string), socket_id and, on presence channels, user_id.
    Given the suite's webhook receiver
    And clients "alice" and "bob" are connected
    And "alice" joins "presence-hook" as "ada"
    And "alice" is subscribed to "presence-hook" within 2s
    And "bob" joins "presence-hook" as "bob"
    And "bob" is subscribed to "presence-hook" within 2s
    When "alice" triggers "client-seat-selected" on "presence-hook" with data {"seat":"A1"}
    Then the webhook receiver gets "client_event" for "presence-hook" within 5s
    And the "client_event" webhook for "presence-hook" carries the event "client-seat-selected", the data {"seat":"A1"}, the socket id of "alice" and the user "ada"

  @id:HOOK-007 @must @cap:webhooks @cap:cache-channels @spec:6
  Scenario: cache_miss comes when an empty cache channel is subscribed
    A cache_miss webhook is sent when a cache channel is subscribed with nothing cached.
    Given the suite's webhook receiver
    And the client "alice" is connected
    When "alice" subscribes to "cache-hook"
    And "alice" is subscribed to "cache-hook" within 2s
    Then the webhook receiver gets "cache_miss" for "cache-hook" within 5s

  @id:HOOK-008 @must @cap:webhooks @spec:6
  Scenario: Webhooks carry the app key and a signature made with the app secret
    Every webhook request has X-Pusher-Key, the app key, and X-Pusher-Signature, the hex HMAC-SHA256 of the body with the app secret.
    Given the suite's webhook receiver
    And the client "alice" is connected
    And "alice" subscribes to "hook-room"
    And "alice" is subscribed to "hook-room" within 2s
    When the webhook receiver gets "channel_occupied" for "hook-room" within 5s
    Then every webhook request about "hook-room" carries the app key and a signature made with the app secret

  @id:HOOK-009 @must @cap:webhooks @spec:6
  Scenario: A webhook body is a JSON object with time_ms and events
    The body is {"time_ms": <milliseconds since the epoch>, "events": [...]}, each event with its name and channel.
    Given the suite's webhook receiver
    And the client "alice" is connected
    And "alice" subscribes to "hook-room"
    And "alice" is subscribed to "hook-room" within 2s
    When the webhook receiver gets "channel_occupied" for "hook-room" within 5s
    Then every webhook request about "hook-room" has a JSON body with events and a time_ms of now

  @id:HOOK-010 @should @cap:webhooks @spec:6
  Scenario: A webhook answered 500 is sent again
    A webhook request answered with a non-2xx status is retried, with exponential back-off.
    Given the suite's webhook receiver
    And the webhook receiver answers 500 to the first request about "hook-room"
    And the client "alice" is connected
    When "alice" subscribes to "hook-room"
    And "alice" is subscribed to "hook-room" within 2s
    Then the webhook receiver gets the request it answered 500 again within 15s

  @id:HOOK-011 @must @cap:webhooks @needs:control @spec:6
  Scenario: The webhooks of one app never reach another app's URL
    Each app's webhooks go to its own URL, with its own key: a server with several apps keeps them apart.
    Given the suite's webhook receiver
    And an app of its own whose webhooks go to the receiver
    And the client "alice" is connected
    When "alice" subscribes to "hook-room"
    And "alice" is subscribed to "hook-room" within 2s
    Then the webhook receiver gets "channel_occupied" for "hook-room" within 5s
    And no webhook request to another app's URL is about "hook-room" in 1s

  @id:HOOK-012 @should @cap:webhooks @cap:http-api @spec:6
  Scenario: A subscriber that leaves and comes back at once causes no webhook
    channel_vacated is delayed by up to 3 s and not sent if the channel is occupied again within that time.
    Given the suite's webhook receiver
    And clients "alice" and "alice-again" are connected
    And "alice" subscribes to "hook-room"
    And "alice" is subscribed to "hook-room" within 2s
    And the webhook receiver gets "channel_occupied" for "hook-room" within 5s
    When "alice" disconnects
    And the API reads "hook-room" unoccupied within 2s
    And "alice-again" subscribes to "hook-room"
    And "alice-again" is subscribed to "hook-room" within 2s
    Then the webhook receiver gets no "channel_vacated" for "hook-room" in 5s
    And the webhook receiver gets exactly one "channel_occupied" for "hook-room" in 0s

  @id:HOOK-013 @info @cap:webhooks @spec:6
  Scenario: How the events of one moment are batched is recorded
    Batching is optional: without it each request carries one event, with it several. How the server groups events is recorded.
    Given the suite's webhook receiver
    And the client "alice" is connected
    When "alice" subscribes to "hook-a"
    And "alice" subscribes to "hook-b"
    And "alice" subscribes to "hook-c"
    And "alice" is subscribed to "hook-c" within 2s
    Then the webhook receiver gets "channel_occupied" for "hook-a" within 5s
    And the webhook receiver gets "channel_occupied" for "hook-c" within 5s
    And how the webhook requests of the scenario group their events is recorded

  @id:HOOK-014 @info @cap:webhooks @spec:6
  Scenario: Whether the server reports a channel's subscription count by webhook is recorded
    A subscription_count webhook carries a channel's count; Pusher sends it to apps that opt in, other servers mostly never. What the server sent for two subscribers is recorded.
    Given the suite's webhook receiver
    And clients "alice" and "bob" are connected
    When "alice" subscribes to "hook-count"
    And "alice" is subscribed to "hook-count" within 2s
    And "bob" subscribes to "hook-count"
    And "bob" is subscribed to "hook-count" within 2s
    Then the subscription_count webhooks for "hook-count" in 5s are recorded
