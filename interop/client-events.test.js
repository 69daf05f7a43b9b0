'use strict';
// Client events between two pusher-js connections (channel.trigger('client-...')).
const assert = require('node:assert/strict');
const h = require('./harness');

const ctx = h.suite();

ctx.test('client event on a private channel reaches the other subscriber, not the sender', async () => {
  const [a, b] = await Promise.all([ctx.connect('sender'), ctx.connect('receiver')]);
  const [{ channel: ca }, { channel: cb }] = await Promise.all([
    h.subscribe(a, 'private-interop-chat'),
    h.subscribe(b, 'private-interop-chat'),
  ]);
  const echoed = h.collect(ca, 'client-typing');
  const got = h.waitEvent(cb, 'client-typing');
  const payload = { typing: true, text: 'hi there', n: 3 };
  assert.equal(ca.trigger('client-typing', payload), true, 'pusher-js refused to send the client event');
  const { data } = await got;
  assert.deepEqual(data, payload);
  await h.sleep(h.QUIET_MS);
  echoed.stop();
  assert.equal(echoed.got.length, 0, `client event was echoed to the sender: ${JSON.stringify(echoed.got)}`);
});

ctx.test('client events flow both ways on a private channel', async () => {
  const [a, b] = await Promise.all([ctx.connect('a'), ctx.connect('b')]);
  const [{ channel: ca }, { channel: cb }] = await Promise.all([
    h.subscribe(a, 'private-interop-pingpong'),
    h.subscribe(b, 'private-interop-pingpong'),
  ]);
  const gotPing = h.waitEvent(cb, 'client-ping');
  ca.trigger('client-ping', { seq: 1 });
  assert.deepEqual((await gotPing).data, { seq: 1 });
  const gotPong = h.waitEvent(ca, 'client-pong');
  cb.trigger('client-pong', { seq: 2 });
  assert.deepEqual((await gotPong).data, { seq: 2 });
});

ctx.test('client event on a presence channel carries the sender user_id', async () => {
  const [a, b] = await Promise.all([
    ctx.connect('sender', { userId: '21', userName: 'Sender' }),
    ctx.connect('receiver', { userId: '22', userName: 'Receiver' }),
  ]);
  const { channel: ca } = await h.subscribe(a, 'presence-interop-chat');
  const { channel: cb } = await h.subscribe(b, 'presence-interop-chat');
  const echoed = h.collect(ca, 'client-msg');
  const got = h.waitEvent(cb, 'client-msg');
  ca.trigger('client-msg', { text: 'hello' });
  const { data, meta } = await got;
  assert.deepEqual(data, { text: 'hello' });
  assert.equal(meta && meta.user_id, '21', `metadata.user_id was ${JSON.stringify(meta)}`);
  await h.sleep(h.QUIET_MS);
  echoed.stop();
  assert.equal(echoed.got.length, 0, 'client event was echoed to the sender');
});

ctx.test('client event is not delivered to a connection not subscribed to the channel', async () => {
  const [a, b, c] = await Promise.all([ctx.connect('sender'), ctx.connect('receiver'), ctx.connect('bystander')]);
  const [{ channel: ca }, { channel: cb }, { channel: cc }] = await Promise.all([
    h.subscribe(a, 'private-interop-room1'),
    h.subscribe(b, 'private-interop-room1'),
    h.subscribe(c, 'private-interop-room2'),
  ]);
  const stray = h.collect(cc, 'client-note');
  const got = h.waitEvent(cb, 'client-note');
  ca.trigger('client-note', { n: 1 });
  await got;
  await h.sleep(h.QUIET_MS);
  stray.stop();
  assert.equal(stray.got.length, 0);
  assert.equal(c.__frames.filter((f) => f.event === 'client-note').length, 0, 'bystander saw the frame');
});
