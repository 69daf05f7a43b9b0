Feature: Clusters
  A cluster of nodes is one server to its clients and to its app: what the protocol says of the
  server holds of the cluster, whichever node each client is connected to and whichever node's
  HTTP API the app calls. The target names its nodes (--target and --api-url once per node, or
  --cluster N for the embedded reference server); "node 1" is the first. A case naming more nodes
  than the target has is skipped.

  @id:CLUS-001 @must @cap:cluster @spec:7
  Scenario: A publish through one node reaches the subscribers of every node, complete and in order
    An event published through any node's HTTP API reaches every subscriber of the channel on every node, each event once and in the order of the publisher.
    Given the client "alice" is connected to node 1
    And the client "bob" is connected to node 2
    And the client "carol" is connected to node 3
    And "alice" subscribes to "clus-orders"
    And "bob" subscribes to "clus-orders"
    And "carol" subscribes to "clus-orders"
    And "alice" is subscribed to "clus-orders" within 2s
    And "bob" is subscribed to "clus-orders" within 2s
    And "carol" is subscribed to "clus-orders" within 2s
    When the app publishes 30 numbered events to "clus-orders" through node 2
    Then "alice" receives the 30 numbered events on "clus-orders" in order within 5s
    And "bob" receives the 30 numbered events on "clus-orders" in order within 5s
    And "carol" receives the 30 numbered events on "clus-orders" in order within 5s

  @id:CLUS-002 @must @cap:cluster @spec:7
  Scenario: socket_id exclusion holds when the excluded socket is on another node
    An event published with a socket_id is not sent to that connection, whichever node it is on, and is sent to every other subscriber.
    Given the client "alice" is connected to node 1
    And the client "bob" is connected to node 2
    And "alice" subscribes to "clus-excl"
    And "bob" subscribes to "clus-excl"
    And "alice" is subscribed to "clus-excl" within 2s
    And "bob" is subscribed to "clus-excl" within 2s
    When the app triggers "seat.changed" on "clus-excl" with data "{\"seat\":\"A1\"}" excluding "alice" through node 2
    And the app triggers "seat.changed" on "clus-excl" with data "{\"seat\":\"B2\"}" through node 2
    Then "bob" receives "seat.changed" on "clus-excl" with data "{\"seat\":\"A1\"}" within 3s
    And "alice" receives "seat.changed" on "clus-excl" with data "{\"seat\":\"B2\"}" within 3s

  @id:CLUS-003 @must @cap:cluster @cap:presence @spec:7
  Scenario: The member list on subscribe is the cluster's
    subscription_succeeded on a presence channel lists every member of the channel, on every node, and member_added reaches the members of other nodes.
    Given the client "ann" is connected to node 1
    And the client "bob" is connected to node 2
    And "ann" joins "presence-clus.seats" as "ann"
    And "ann" is subscribed to "presence-clus.seats" within 2s
    When "bob" joins "presence-clus.seats" as "bob"
    Then "bob" is subscribed to "presence-clus.seats" within 2s
    And its member list is "ann" and "bob"
    And "ann" sees "bob" join "presence-clus.seats" within 3s

  @id:CLUS-004 @must @cap:cluster @cap:presence @spec:7
  Scenario: A user with tabs on two nodes is one member, removed after the last tab
    A user is one member however many connections it has on however many nodes: member_added on its first connection anywhere, member_removed after its last.
    Given the client "ann" is connected to node 1
    And the client "tab1" is connected to node 1
    And the client "tab2" is connected to node 2
    And "ann" joins "presence-clus.tabs" as "ann"
    And "ann" is subscribed to "presence-clus.tabs" within 2s
    And "tab1" joins "presence-clus.tabs" as "bob"
    And "tab1" is subscribed to "presence-clus.tabs" within 2s
    And "ann" sees "bob" join "presence-clus.tabs" within 3s
    When "tab2" joins "presence-clus.tabs" as "bob"
    And "tab2" is subscribed to "presence-clus.tabs" within 2s
    Then its member list is "ann" and "bob"
    And "ann" does not see "bob" join "presence-clus.tabs" within 1s
    When "tab1" disconnects
    Then "ann" does not see "bob" leave "presence-clus.tabs" within 2s
    When "tab2" disconnects
    Then "ann" sees "bob" leave "presence-clus.tabs" within 5s

  @id:CLUS-005 @must @cap:cluster @spec:7
  Scenario: Every node counts the subscribers of every node
    GET /channels and GET /channels/{name} answer for the whole cluster from any node: occupied and subscription_count count the subscribers of every node.
    Given the client "alice" is connected to node 1
    And the client "bob" is connected to node 2
    And "alice" subscribes to "clus-count"
    And "bob" subscribes to "clus-count"
    And "alice" is subscribed to "clus-count" within 2s
    And "bob" is subscribed to "clus-count" within 2s
    Then every node answers GET "/channels/{channel:clus-count}?info=subscription_count" within 5s with:
      """
      {"occupied": true, "subscription_count": 2}
      """
    And every node answers GET "/channels?filter_by_prefix={channel:clus-count}&info=subscription_count" within 5s with:
      """
      {"channels": {"{channel:clus-count}": {"subscription_count": 2}}}
      """

  @id:CLUS-006 @must @cap:cluster @cap:presence @spec:7
  Scenario: Every node lists the members of every node
    GET /channels/{name}/users and user_count answer for the whole cluster from any node, one entry per user.
    Given the client "ann" is connected to node 1
    And the client "bob" is connected to node 2
    And the client "bob2" is connected to node 1
    And "ann" joins "presence-clus.users" as "ann"
    And "bob" joins "presence-clus.users" as "bob"
    And "bob2" joins "presence-clus.users" as "bob"
    And "ann" is subscribed to "presence-clus.users" within 2s
    And "bob" is subscribed to "presence-clus.users" within 2s
    And "bob2" is subscribed to "presence-clus.users" within 2s
    Then every node answers GET "/channels/{channel:presence-clus.users}/users" within 5s with:
      """
      {"users": [{"id": "{user:ann}"}, {"id": "{user:bob}"}]}
      """
    And every node answers GET "/channels/{channel:presence-clus.users}?info=user_count" within 5s with:
      """
      {"occupied": true, "user_count": 2}
      """

  @id:CLUS-007 @must @cap:cluster @cap:client-events @cap:presence @spec:7
  Scenario: A client event reaches the other node's subscribers with its user_id
    A client event reaches every other subscriber of the channel on every node, never its sender, with the sender's user_id on presence channels.
    Given the client "ann" is connected to node 1
    And the client "bob" is connected to node 2
    And "ann" joins "presence-clus.chat" as "ann"
    And "bob" joins "presence-clus.chat" as "bob"
    And "ann" is subscribed to "presence-clus.chat" within 2s
    And "bob" is subscribed to "presence-clus.chat" within 2s
    When "ann" triggers "client-typing" on "presence-clus.chat" with data {"typing":true}
    Then "bob" receives "client-typing" on "presence-clus.chat" from "ann" within 3s
    And "ann" does not receive "client-typing" on "presence-clus.chat" within 1s

  @id:CLUS-008 @must @cap:cluster @cap:user-auth @spec:7
  Scenario: An event sent to a user through one node reaches its connection on another
    Events sent to a user through any node's HTTP API reach that user's signed-in connection on any node.
    Given the client "alice" is connected to node 2
    And "alice" signs in as "u1"
    And "alice" is signed in as "u1" within 2s
    And "alice" subscribes to the server-to-user channel of "u1"
    And "alice" is subscribed to the server-to-user channel of "u1" within 2s
    When the app sends "notification" to user "u1" with data "{\"title\":\"Doors open\"}" through node 1
    Then "alice" receives "notification" on the server-to-user channel of "u1" within 3s

  @id:CLUS-009 @must @cap:cluster @cap:terminate @cap:user-auth @spec:7
  Scenario: terminate_connections through one node closes the user's connections on another
    terminate_connections closes every connection of the user, on every node of the cluster.
    Given the client "alice" is connected to node 2
    And "alice" signs in as "u1"
    And "alice" is signed in as "u1" within 2s
    When the app terminates the connections of "u1" through node 1
    Then "alice" is closed within 5s

  @id:CLUS-010 @must @cap:cluster @cap:cache-channels @spec:7
  Scenario: A cache channel's last event, published through one node, is replayed on another
    A cache channel's last event is the cluster's: a client subscribing on any node gets it, even if no node had a subscriber when it was published.
    Given the app triggers "price" on "cache-clus.prices" with data "{\"eur\":42}" through node 1
    And the client "alice" is connected to node 2
    When "alice" subscribes to "cache-clus.prices"
    Then "alice" is subscribed to "cache-clus.prices" within 2s
    And "alice" receives "price" on "cache-clus.prices" within 2s

  @id:CLUS-011 @must @cap:cluster @cap:webhooks @spec:7
  Scenario: No channel_vacated while the channel has a subscriber on another node
    channel_occupied and channel_vacated are sent once per cluster: a channel whose subscriber on one node leaves while another node has one is not vacated.
    Given the suite's webhook receiver
    And the client "alice" is connected to node 1
    And the client "bob" is connected to node 2
    And "alice" subscribes to "clus-hook"
    And "alice" is subscribed to "clus-hook" within 2s
    And "bob" subscribes to "clus-hook"
    And "bob" is subscribed to "clus-hook" within 2s
    When "alice" disconnects
    Then the webhook receiver gets "channel_occupied" for "clus-hook" within 5s
    And the webhook receiver gets exactly one "channel_occupied" for "clus-hook" in 2s
    And the webhook receiver gets no "channel_vacated" for "clus-hook" in 5s

  @id:CLUS-012 @must @cap:cluster @cap:webhooks @cap:presence @spec:7
  Scenario: member webhooks come once per user, whatever the nodes of its tabs
    member_added and member_removed are sent once per user across the cluster: a user's second tab on another node, or the first tab leaving, sends neither.
    Given the suite's webhook receiver
    And the client "tab1" is connected to node 1
    And the client "tab2" is connected to node 2
    And "tab1" joins "presence-clus.hook" as "ada"
    And "tab1" is subscribed to "presence-clus.hook" within 2s
    And "tab2" joins "presence-clus.hook" as "ada"
    And "tab2" is subscribed to "presence-clus.hook" within 2s
    When "tab1" disconnects
    Then the webhook receiver gets "member_added" for "presence-clus.hook" of "ada" within 5s
    And the webhook receiver gets exactly one "member_added" for "presence-clus.hook" of "ada" in 2s
    And the webhook receiver gets no "member_removed" for "presence-clus.hook" of "ada" in 5s

  @id:CLUS-013 @must @cap:cluster @cap:presence @needs:control @needs:restart @spec:7
  Scenario: A node that dies without a word leaves no ghost member on the others
    A node's death ends its connections: the cluster sends member_removed for the users it alone held and lists them no more. The protocol sets no bound; the suite waits 30 s.
    Given a cluster the suite may crash a node of
    And the client "ann" is connected to node 1
    And the client "bob" is connected to node 2
    And "ann" joins "presence-clus.crash" as "ann"
    And "ann" is subscribed to "presence-clus.crash" within 2s
    And "bob" joins "presence-clus.crash" as "bob"
    And "bob" is subscribed to "presence-clus.crash" within 2s
    And "ann" sees "bob" join "presence-clus.crash" within 3s
    When node 2 crashes
    Then "ann" sees "bob" leave "presence-clus.crash" within 30s
    And every node answers GET "/channels/{channel:presence-clus.crash}/users" within 30s with:
      """
      {"users": [{"id": "{user:ann}"}]}
      """

  @id:CLUS-014 @should @cap:cluster @cap:subscription-count @spec:7
  Scenario: The subscription count told to subscribers counts every node's
    pusher_internal:subscription_count tells each subscriber, on every node, the cluster's count of the channel after each subscribe and unsubscribe on any node.
    Given the client "alice" is connected to node 1
    And the client "bob" is connected to node 2
    And "alice" subscribes to "clus-counted"
    And "alice" is subscribed to "clus-counted" within 2s
    When "bob" subscribes to "clus-counted"
    Then "bob" is subscribed to "clus-counted" within 2s
    And "alice" is told that "clus-counted" has 2 subscriptions within 3s
    And "bob" is told that "clus-counted" has 2 subscriptions within 3s
    When "bob" unsubscribes from "clus-counted"
    Then "alice" is told that "clus-counted" has 1 subscription within 3s

  @id:CLUS-015 @should @cap:cluster @cap:user-auth @cap:watchlist @spec:7
  Scenario: A watchlist knows the users signed in on every node
    A watcher's online states and changes are the cluster's: a user signed in on another node is online, and its coming and going on any node reaches the watchers of every node.
    Given the client "alice" is connected to node 1
    And the client "bob" is connected to node 2
    And the client "carol" is connected to node 3
    And "alice" signs in as "u1"
    And "alice" is signed in as "u1" within 2s
    When "bob" signs in as "u2" watching "u1" and "u3"
    Then "bob" sees "u1" online within 3s
    And "bob" sees "u3" offline within 3s
    When "carol" signs in as "u3"
    Then "bob" sees "u3" online within 3s
    When "carol" disconnects
    Then "bob" sees "u3" offline within 5s

  @id:CLUS-016 @should @cap:cluster @needs:control @spec:7
  Scenario: The connection quota counts the connections of every node
    An app's connection quota is the cluster's: the connections of every node count against it, and one past it is refused with 4004 whichever node it comes to.
    Given a cluster app with a connection quota
    And the app's connection quota is used up by "holder" across the nodes
    When a client "over" connects to node 1
    Then "over" is closed with code 4004 within 2s
