Feature: Encrypted channels
  A private-encrypted- channel is authorized like a private channel. The server never decrypts:
  it relays the {nonce, ciphertext} data untouched, and refuses a multi-channel publish that
  includes an encrypted channel.

  @id:ENC-001 @must @cap:encrypted @spec:2.5
  Scenario: An encrypted channel needs a valid signature
    A private-encrypted- channel is authorized as a private channel: a forged signature is refused.
    Given clients "alice" and "mallory" are connected
    When "alice" subscribes to "private-encrypted-chat.3" with a valid signature
    And "mallory" subscribes to "private-encrypted-chat.3" with a forged signature
    Then "alice" is subscribed to "private-encrypted-chat.3" within 2s
    And "mallory" is refused "private-encrypted-chat.3" within 2s

  @id:ENC-002 @must @cap:encrypted @spec:2.5
  Scenario: Ciphertext is relayed untouched
    The server never decrypts: it relays {nonce, ciphertext} untouched.
    Given the client "alice" is connected
    And "alice" subscribes to "private-encrypted-chat.3" with a valid signature
    And "alice" is subscribed to "private-encrypted-chat.3" within 2s
    When the app triggers "message.sent" on "private-encrypted-chat.3" with data "{\"nonce\":\"bm9uY2Vub25jZW5vbmNlbm9uY2Vub25j\",\"ciphertext\":\"Y2lwaGVydGV4dA==\"}"
    Then "alice" receives "message.sent" on "private-encrypted-chat.3" within 2s
    And its data is "{\"nonce\":\"bm9uY2Vub25jZW5vbmNlbm9uY2Vub25j\",\"ciphertext\":\"Y2lwaGVydGV4dA==\"}"

  @id:ENC-003 @should @cap:encrypted @cap:http-api @spec:5.3
  Scenario: A publish to several channels including an encrypted one is refused
    channels is not supported with encrypted channels: a publish to several channels including one should be refused.
    When the app sends POST "/events" with the body:
      """
      {"name":"x","data":"{}","channels":["{channel:private-encrypted-a}","{channel:event.1}"]}
      """
    Then the API answers 400
