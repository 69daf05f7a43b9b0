Feature: Public channels
  Anyone may subscribe to a channel without a prefix. Events published through the HTTP API
  reach every subscriber with their data forwarded verbatim; an unsubscribed client gets nothing.

  @id:PUB-001 @must @checklist:2
  Scenario: A public channel needs no authentication
    Given the client "alice" is connected
    When "alice" subscribes to "event.1"
    Then "alice" is subscribed to "event.1" within 2s

  @id:PUB-002 @must @checklist:2
  Scenario: An event published through the HTTP API reaches every subscriber
    Given clients "alice" and "bob" are connected
    And "alice" subscribes to "event.1"
    And "bob" subscribes to "event.1"
    And "alice" is subscribed to "event.1" within 2s
    And "bob" is subscribed to "event.1" within 2s
    When the app triggers "availability.updated" on "event.1" with data "{\"left\":3}"
    Then "alice" receives "availability.updated" on "event.1" with data "{\"left\":3}" within 2s
    And "bob" receives "availability.updated" on "event.1" with data "{\"left\":3}" within 2s

  @id:PUB-003 @must
  Scenario: Event data is forwarded verbatim as a string
    Given the client "alice" is connected
    And "alice" subscribes to "event.1"
    And "alice" is subscribed to "event.1" within 2s
    When the app triggers "note" on "event.1" with data "not JSON, just text"
    Then "alice" receives "note" on "event.1" within 2s
    And its data is "not JSON, just text"

  @id:PUB-004 @must
  Scenario: After unsubscribing, a client receives nothing more
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

  @id:PUB-005 @must
  Scenario: Events of one channel do not reach subscribers of another
    Given clients "alice" and "bob" are connected
    And "alice" subscribes to "event.1"
    And "bob" subscribes to "event.2"
    And "alice" is subscribed to "event.1" within 2s
    And "bob" is subscribed to "event.2" within 2s
    When the app triggers "availability.updated" on "event.1" with data "{}"
    Then "alice" receives "availability.updated" on "event.1" within 2s
    And "bob" does not receive "availability.updated" within 1s

  @id:PUB-006 @must
  Scenario: A channel name of 164 characters is accepted
    Given the client "alice" is connected
    When "alice" subscribes to a channel named "long-" and 159 more characters
    Then "alice" is subscribed to the channel named "long-" and 159 more characters within 2s

  @id:PUB-007 @should
  Scenario: A channel name of 165 characters is refused
    Given the client "alice" is connected
    When "alice" subscribes to a channel named "long-" and 160 more characters
    Then "alice" is refused the channel named "long-" and 160 more characters within 2s

  @id:PUB-008 @should
  Scenario: A channel name with a character outside the allowed set is refused
    Given the client "alice" is connected
    When "alice" subscribes to the exact channel "has space"
    Then "alice" is refused the exact channel "has space" within 2s

  @should
  Scenario Outline: A name containing "<prefix>" but not starting with it is a public channel
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

  @should
  Scenario Outline: A name containing "<prefix>" but not starting with it is not a cache channel
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

  @id:PUB-010 @should
  Scenario: Events published to several channels at once reach each
    Given clients "alice" and "bob" are connected
    And "alice" subscribes to "event.1"
    And "bob" subscribes to "event.2"
    And "alice" is subscribed to "event.1" within 2s
    And "bob" is subscribed to "event.2" within 2s
    When the app triggers "event.live" on "event.1, event.2" with data "{}"
    Then "alice" receives "event.live" on "event.1" within 2s
    And "bob" receives "event.live" on "event.2" within 2s

  @id:PUB-011 @must @checklist:5
  Scenario: A burst of 1000 events arrives complete and in publishing order
    Given the client "alice" is connected
    And "alice" subscribes to "event.1"
    And "alice" is subscribed to "event.1" within 2s
    When the app publishes 1000 numbered events to "event.1"
    Then "alice" receives the 1000 numbered events on "event.1" in order within 10s
