Feature: Multiple browser tabs
  A user with several tabs has several connections. Each tab receives the events of its
  channels; on presence channels the user is one member: member_added when the first tab joins,
  member_removed only when the last tab leaves.

  @id:TABS-001 @must @checklist:13 @spec:seed
  Scenario: Every tab receives the updates
    Checklist 13: multiple browser tabs receive updates; each tab's connection gets the events of its channels.
    Given clients "tab1", "tab2" and "tab3" are connected
    And "tab1" subscribes to "private-customer.5" with a valid signature
    And "tab2" subscribes to "private-customer.5" with a valid signature
    And "tab3" subscribes to "private-customer.5" with a valid signature
    And "tab1" is subscribed to "private-customer.5" within 2s
    And "tab2" is subscribed to "private-customer.5" within 2s
    And "tab3" is subscribed to "private-customer.5" within 2s
    When the app triggers "order.updated" on "private-customer.5" with data "{\"status\":\"paid\"}"
    Then "tab1" receives "order.updated" on "private-customer.5" within 2s
    And "tab2" receives "order.updated" on "private-customer.5" within 2s
    And "tab3" receives "order.updated" on "private-customer.5" within 2s

  @id:TABS-002 @must @checklist:13 @checklist:4 @cap:presence @spec:2.4
  Scenario: A second tab of the same user adds no member
    member_added is sent only when the user's first connection joins: a second tab adds no member.
    Given clients "tab1", "tab2" and "bob" are connected
    And "bob" joins "presence-event.7.seats" as "u2"
    And "bob" is subscribed to "presence-event.7.seats" within 2s
    And "tab1" joins "presence-event.7.seats" as "u1"
    And "tab1" is subscribed to "presence-event.7.seats" within 2s
    And "bob" sees "u1" join "presence-event.7.seats" within 2s
    When "tab2" joins "presence-event.7.seats" as "u1"
    Then "tab2" is subscribed to "presence-event.7.seats" within 2s
    And its member list is "u1" and "u2"
    And "bob" does not see "u1" join "presence-event.7.seats" within 1s

  @id:TABS-003 @must @checklist:13 @checklist:4 @cap:presence @spec:2.4
  Scenario: Closing one of two tabs removes no member; closing the last does
    member_removed is sent only when the user's last connection leaves.
    Given clients "tab1", "tab2" and "bob" are connected
    And "bob" joins "presence-event.7.seats" as "u2"
    And "tab1" joins "presence-event.7.seats" as "u1"
    And "tab2" joins "presence-event.7.seats" as "u1"
    And "bob" is subscribed to "presence-event.7.seats" within 2s
    And "tab1" is subscribed to "presence-event.7.seats" within 2s
    And "tab2" is subscribed to "presence-event.7.seats" within 2s
    When "tab1" closes the connection
    Then "bob" does not see "u1" leave "presence-event.7.seats" within 1s
    When "tab2" closes the connection
    Then "bob" sees "u1" leave "presence-event.7.seats" within 2s

  @id:TABS-004 @should @checklist:13 @cap:client-events @spec:3
  Scenario: A client event from one tab reaches the user's other tab
    Client events reach every other subscriber, the same user's other connections included.
    Given clients "tab1" and "tab2" are connected
    And "tab1" subscribes to "private-customer.5" with a valid signature
    And "tab2" subscribes to "private-customer.5" with a valid signature
    And "tab1" is subscribed to "private-customer.5" within 2s
    And "tab2" is subscribed to "private-customer.5" within 2s
    When "tab1" triggers "client-cart.updated" on "private-customer.5" with data {"items":2}
    Then "tab2" receives "client-cart.updated" on "private-customer.5" within 2s
