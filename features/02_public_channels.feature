Feature: Public channels
  Anyone may subscribe to a channel without a prefix. Events published through the HTTP API
  reach every subscriber with their data forwarded verbatim; an unsubscribed client gets nothing.

  @id:PUB-001 @must @checklist:2 @spec:2.2
  Scenario: A public channel needs no authentication
    A channel without a reserved prefix is public: subscribing needs no auth, and the server answers pusher_internal:subscription_succeeded.
    Given the client "alice" is connected
    When "alice" subscribes to "event.1"
    Then "alice" is subscribed to "event.1" within 2s

  @id:PUB-002 @must @checklist:2 @spec:5.3
  Scenario: An event published through the HTTP API reaches every subscriber
    POST /apps/{app_id}/events delivers the event to every subscriber of each named channel.
    Given clients "alice" and "bob" are connected
    And "alice" subscribes to "event.1"
    And "bob" subscribes to "event.1"
    And "alice" is subscribed to "event.1" within 2s
    And "bob" is subscribed to "event.1" within 2s
    When the app triggers "availability.updated" on "event.1" with data "{\"left\":3}"
    Then "alice" receives "availability.updated" on "event.1" with data "{\"left\":3}" within 2s
    And "bob" receives "availability.updated" on "event.1" with data "{\"left\":3}" within 2s

  @id:PUB-003 @must @spec:1.2
  Scenario: Event data is forwarded verbatim as a string
    The data string given to POST /events is forwarded verbatim, as a string.
    Given the client "alice" is connected
    And "alice" subscribes to "event.1"
    And "alice" is subscribed to "event.1" within 2s
    When the app triggers "note" on "event.1" with data "not JSON, just text"
    Then "alice" receives "note" on "event.1" within 2s
    And its data is "not JSON, just text"

  @id:PUB-004 @must @spec:2.2
  Scenario: After unsubscribing, a client receives nothing more
    After pusher:unsubscribe the server sends the connection nothing more of that channel.
    Given clients "alice" and "bob" are connected
    And "alice" subscribes to "event.1"
    And "bob" subscribes to "event.1"
    And "alice" is subscribed to "event.1" within 2s
    And "bob" is subscribed to "event.1" within 2s
    When "bob" unsubscribes from "event.1"
    And "bob" stays connected
    And the app triggers "availability.updated" on "event.1" with data "{}"
    Then "alice" receives "availability.updated" on "event.1" within 2s
    And "bob" does not receive "availability.updated" within 1s

  @id:PUB-005 @must @spec:2.2
  Scenario: Events of one channel do not reach subscribers of another
    An event of a channel reaches the subscribers of that channel only.
    Given clients "alice" and "bob" are connected
    And "alice" subscribes to "event.1"
    And "bob" subscribes to "event.2"
    And "alice" is subscribed to "event.1" within 2s
    And "bob" is subscribed to "event.2" within 2s
    When the app triggers "availability.updated" on "event.1" with data "{}"
    Then "alice" receives "availability.updated" on "event.1" within 2s
    And "bob" does not receive "availability.updated" within 1s

  @id:PUB-006 @must @spec:2.1
  Scenario: A channel name of 164 characters is accepted
    A channel name has at most 164 characters, prefix included: 164 is allowed.
    Given the client "alice" is connected
    When "alice" subscribes to a channel named "long-" and 159 more characters
    Then "alice" is subscribed to the channel named "long-" and 159 more characters within 2s

  @id:PUB-007 @should @spec:2.1
  Scenario: A channel name of 165 characters is refused
    A channel name has at most 164 characters: a longer one should be refused.
    Given the client "alice" is connected
    When "alice" subscribes to a channel named "long-" and 160 more characters
    Then "alice" is refused the channel named "long-" and 160 more characters within 2s

  @id:PUB-008 @should @spec:2.1
  Scenario: A channel name with a character outside the allowed set is refused
    A channel name uses only A-Z a-z 0-9 _ - = @ , . ; : another character should be refused.
    Given the client "alice" is connected
    When "alice" subscribes to the exact channel "has space"
    Then "alice" is refused the exact channel "has space" within 2s

  @should @spec:2.1
  Scenario Outline: A name containing "<prefix>" but not starting with it is a public channel
    The channel type is decided by prefix, at the start of the name: a reserved word elsewhere in it makes no private, presence, encrypted or cache channel.
    Given the client "alice" is connected
    When "alice" subscribes to "<name>" with no auth
    Then "alice" is subscribed to "<name>" within 2s

    @id:PUB-009
    Examples: private-
      | prefix   | name            |
      | private- | my-private-room |

    @id:PUB-012
    Examples: presence-
      | prefix    | name             |
      | presence- | my-presence-room |

    @id:PUB-013
    Examples: private-encrypted-
      | prefix             | name                      |
      | private-encrypted- | my-private-encrypted-room |

  @should @spec:2.6
  Scenario Outline: A name containing "<prefix>" but not starting with it is not a cache channel
    The cache prefixes cache-, private-cache-, private-encrypted-cache- and presence-cache- count at the start of the name only: elsewhere in it they make no cache channel.
    Given the client "alice" is connected
    When "alice" subscribes to "<name>" with no auth
    Then "alice" is subscribed to "<name>" within 2s
    And "alice" does not receive "pusher:cache_miss" within 1s

    @id:PUB-014
    Examples: cache-
      | prefix | name          |
      | cache- | foo-cache-bar |

    @id:PUB-015
    Examples: private-cache-
      | prefix         | name                  |
      | private-cache- | foo-private-cache-bar |

    @id:PUB-016
    Examples: presence-cache-
      | prefix          | name                   |
      | presence-cache- | foo-presence-cache-bar |

    @id:PUB-017
    Examples: private-encrypted-cache-
      | prefix                   | name                            |
      | private-encrypted-cache- | foo-private-encrypted-cache-bar |

  @id:PUB-010 @should @spec:5.3
  Scenario: Events published to several channels at once reach each
    channels is an array of 1 to 100 channel names; the event reaches each.
    Given clients "alice" and "bob" are connected
    And "alice" subscribes to "event.1"
    And "bob" subscribes to "event.2"
    And "alice" is subscribed to "event.1" within 2s
    And "bob" is subscribed to "event.2" within 2s
    When the app triggers "event.live" on "event.1, event.2" with data "{}"
    Then "alice" receives "event.live" on "event.1" within 2s
    And "bob" receives "event.live" on "event.2" within 2s

  @id:PUB-011 @must @checklist:5 @spec:5.3
  Scenario: A burst of 1000 events arrives complete and in publishing order
    Events published one after another to a channel reach its subscriber complete and in the order of publishing.
    Given the client "alice" is connected
    And "alice" subscribes to "event.1"
    And "alice" is subscribed to "event.1" within 2s
    When the app publishes 1000 numbered events to "event.1"
    Then "alice" receives the 1000 numbered events on "event.1" in order within 10s

  @id:PUB-018 @should @cap:subscription-count @spec:2.7
  Scenario: Subscribers of a channel are told its subscription count after each subscribe and unsubscribe
    With subscription counting on, every subscriber of a public channel gets pusher_internal:subscription_count with the channel's count after each subscribe and unsubscribe.
    Given clients "alice" and "bob" are connected
    When "alice" subscribes to "count.1"
    Then "alice" is subscribed to "count.1" within 2s
    And "alice" is told that "count.1" has 1 subscription within 2s
    When "bob" subscribes to "count.1"
    Then "bob" is subscribed to "count.1" within 2s
    And "alice" is told that "count.1" has 2 subscriptions within 2s
    And "bob" is told that "count.1" has 2 subscriptions within 2s
    When "bob" unsubscribes from "count.1"
    Then "alice" is told that "count.1" has 1 subscription within 2s
