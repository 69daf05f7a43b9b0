Feature: Presence channels
  A presence- subscription is signed over socket_id:channel:channel_data and names a user. The
  member list of subscription_succeeded has ids, hash and count; member_added and member_removed
  go to the others; a user is one member however many connections it joins with.

  @id:PRES-001 @must @checklist:4 @cap:presence @spec:2.4
  Scenario: The first member sees only itself
    subscription_succeeded on a presence channel lists the members (presence.ids, and presence.count), the joining member included; the hash has PRES-012.
    Given the client "alice" is connected
    When "alice" joins "presence-event.7.seats" as "u1" with info {"id":1,"name":"Alice"}
    Then "alice" is subscribed to "presence-event.7.seats" within 2s
    And its member list is "u1"

  @id:PRES-002 @must @checklist:4 @cap:presence @spec:2.4
  Scenario: A joining member gets the member list and the others see it join
    The joining member gets the member list; the others get pusher_internal:member_added with its user_id and user_info.
    Given clients "alice" and "bob" are connected
    And "alice" joins "presence-event.7.seats" as "u1" with info {"id":1,"name":"Alice"}
    And "alice" is subscribed to "presence-event.7.seats" within 2s
    When "bob" joins "presence-event.7.seats" as "u2" with info {"id":2,"name":"Bob"}
    Then "bob" is subscribed to "presence-event.7.seats" within 2s
    And its member list is "u1" and "u2"
    And "alice" sees "u2" join "presence-event.7.seats" within 2s
    And its user info is {"id":2,"name":"Bob"}

  @id:PRES-003 @must @checklist:4 @cap:presence @spec:2.4
  Scenario: A member does not see its own member_added
    member_added is sent to the other subscribers, not to the joining connection.
    Given clients "alice" and "bob" are connected
    And "alice" joins "presence-event.7.seats" as "u1"
    And "alice" is subscribed to "presence-event.7.seats" within 2s
    When "bob" joins "presence-event.7.seats" as "u2"
    Then "alice" sees "u2" join "presence-event.7.seats" within 2s
    And "bob" does not see "u2" join "presence-event.7.seats" within 1s

  @id:PRES-004 @must @checklist:4 @cap:presence @spec:2.4
  Scenario: Leaving by unsubscribing is seen by the others
    member_removed is sent when the user's last connection leaves, by unsubscribe or by socket close: here by unsubscribe.
    Given clients "alice" and "bob" are connected
    And "alice" joins "presence-event.7.seats" as "u1"
    And "alice" is subscribed to "presence-event.7.seats" within 2s
    And "bob" joins "presence-event.7.seats" as "u2"
    And "bob" is subscribed to "presence-event.7.seats" within 2s
    When "bob" unsubscribes from "presence-event.7.seats"
    Then "alice" sees "u2" leave "presence-event.7.seats" within 2s

  @id:PRES-005 @must @checklist:4 @cap:presence @spec:2.4
  Scenario: Leaving by disconnecting is seen by the others
    member_removed is sent when the user's last connection leaves, by unsubscribe or by socket close: here by close.
    Given clients "alice" and "bob" are connected
    And "alice" joins "presence-event.7.seats" as "u1"
    And "alice" is subscribed to "presence-event.7.seats" within 2s
    And "bob" joins "presence-event.7.seats" as "u2"
    And "bob" is subscribed to "presence-event.7.seats" within 2s
    When "bob" disconnects
    Then "alice" sees "u2" leave "presence-event.7.seats" within 3s

  @id:PRES-006 @must @checklist:4 @cap:presence @spec:2.2
  Scenario: Presence auth without channel_data is refused
    channel_data is required for presence channels: a subscription without it is refused.
    Given the client "alice" is connected
    When "alice" joins "presence-event.7.seats" without channel_data
    Then "alice" is refused "presence-event.7.seats" within 2s

  @id:PRES-007 @must @checklist:4 @cap:presence @spec:2.4
  Scenario: Presence auth signed over other channel_data is refused
    The presence signature covers socket_id:channel:channel_data, the exact string sent: one over other data is refused.
    Given the client "alice" is connected
    When "alice" sends:
      """
      {"event":"pusher:subscribe","data":{"channel":"{channel:presence-event.7.seats}","auth":"forged:0000","channel_data":"{\"user_id\":\"{user:u1}\"}"}}
      """
    Then "alice" is refused "presence-event.7.seats" within 2s

  @id:PRES-008 @should @checklist:4 @cap:presence @needs:control @spec:2.4
  Scenario: Past the member limit a new user is refused
    A presence channel has at most 100 members (or the app's limit): past it a new user should be refused.
    Given an app with a presence member limit
    And "presence-room" is filled to the member limit by "member"
    And the client "c" is connected
    When "c" joins "presence-room" as "over"
    Then "c" is refused "presence-room" within 2s
    And "member-1" does not see "over" join "presence-room" within 1s

  @id:PRES-009 @should @checklist:4 @cap:presence @spec:2.4
  Scenario: A user_info over 1 KB is refused
    A member's user object is at most 1 KB: a larger user_info should be refused.
    Given the client "alice" is connected
    When "alice" joins "presence-room" as "u1" with 1100 bytes of info
    Then "alice" is refused "presence-room" within 2s

  @id:PRES-010 @should @cap:presence @spec:2.4
  Scenario: A numeric user_id and the same id as a string are one member
    user_id may be a number; servers compare ids as strings, so 4242 and "4242" should be one member.
    Given clients "tab1" and "tab2" and "bob" are connected
    And "bob" joins "presence-room" as "watcher"
    And "bob" is subscribed to "presence-room" within 2s
    When "tab1" joins "presence-room" with the exact channel_data {"user_id":4242}
    And "tab1" is subscribed to "presence-room" within 2s
    And "tab2" joins "presence-room" with the exact channel_data {"user_id":"4242"}
    And "tab2" is subscribed to "presence-room" within 2s
    Then "bob" receives 1 "pusher_internal:member_added" on "presence-room" within 2s
    And "bob" receives no more "pusher_internal:member_added" on "presence-room" within 1s

  @id:PRES-011 @should @cap:presence @cap:user-auth @spec:2.4
  Scenario: A signed-in user joins a presence channel without channel_data as itself
    From pusher-js 7.1, a signed-in connection may join without channel_data: the member is the signed-in user.
    Given clients "alice" and "bob" are connected
    And "bob" joins "presence-room" as "u2"
    And "bob" is subscribed to "presence-room" within 2s
    And "alice" signs in as "u1"
    And "alice" is signed in as "u1" within 2s
    When "alice" joins "presence-room" without channel_data
    Then "alice" is subscribed to "presence-room" within 2s
    And its member list is "u1" and "u2"
    And "bob" sees "u1" join "presence-room" within 2s

  @id:PRES-012 @should @cap:presence @spec:2.4
  Scenario: A member without user_info still has an entry in the member hash
    presence.hash maps every user_id to its user_info, which may be null or missing; pusher-js builds its members from the hash.
    Given clients "alice" and "bob" are connected
    And "alice" joins "presence-room" as "u1"
    And "alice" is subscribed to "presence-room" within 2s
    When "bob" joins "presence-room" as "u2"
    Then "bob" is subscribed to "presence-room" within 2s
    And its member hash has an entry for each of "u1" and "u2"
