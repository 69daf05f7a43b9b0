'use strict';
// Events published through real server SDKs (the `pusher` Node library and
// pusher-http-go v5) reach pusher-js subscribers with the exact data.
const assert = require('node:assert/strict');
const h = require('./harness');

const ctx = h.suite({ goTrigger: true });

const PAYLOAD = { message: 'hello from node', n: 42, nested: { list: [1, 'two', null, true] }, unicode: 'héllo ✓' };

for (const [kind, channelName, opts] of [
  ['public', 'interop-news', {}],
  ['private', 'private-interop-orders', {}],
  ['presence', 'presence-interop-room', { userId: '11', userName: 'Eleven' }],
]) {
  ctx.test(`pusher (Node SDK) trigger reaches a pusher-js client on a ${kind} channel with the exact data`, async () => {
    const c = await ctx.connect('receiver', opts);
    const { channel } = await h.subscribe(c, channelName);
    const got = h.waitEvent(channel, 'order-shipped');
    const res = await ctx.rest().trigger(channelName, 'order-shipped', PAYLOAD);
    assert.equal(res.status, 200);
    const { data } = await got;
    assert.deepEqual(data, PAYLOAD);
    // and on the wire the data arrived as a string (double encoding)
    const frame = h.receivedFrames(c.connection.socket_id).find((f) => f.event === 'order-shipped');
    assert.equal(frame.channel, channelName);
    assert.equal(typeof frame.data, 'string', 'HTTP API data must be forwarded as a string');
    assert.deepEqual(JSON.parse(frame.data), PAYLOAD);
  });
}

ctx.test('pusher (Node SDK) trigger with a non-JSON string payload arrives verbatim', async () => {
  const c = await ctx.connect('receiver');
  const { channel } = await h.subscribe(c, 'interop-plain');
  const got = h.waitEvent(channel, 'plain');
  await ctx.rest().trigger('interop-plain', 'plain', 'just "text", not JSON');
  const { data } = await got;
  assert.equal(data, 'just "text", not JSON');
});

ctx.test('pusher (Node SDK) multi-channel trigger reaches subscribers of every channel', async () => {
  const c = await ctx.connect('receiver');
  const [{ channel: a }, { channel: b }] = await Promise.all([
    h.subscribe(c, 'interop-multi-a'),
    h.subscribe(c, 'private-interop-multi-b'),
  ]);
  const ga = h.waitEvent(a, 'fanout');
  const gb = h.waitEvent(b, 'fanout');
  await ctx.rest().trigger(['interop-multi-a', 'private-interop-multi-b'], 'fanout', { x: 1 });
  assert.deepEqual((await ga).data, { x: 1 });
  assert.deepEqual((await gb).data, { x: 1 });
});

ctx.test('pusher (Node SDK) trigger with socket_id excludes that connection only', async () => {
  const [a, b] = await Promise.all([ctx.connect('excluded'), ctx.connect('other')]);
  const [{ channel: ca }, { channel: cb }] = await Promise.all([
    h.subscribe(a, 'private-interop-exclude-node'),
    h.subscribe(b, 'private-interop-exclude-node'),
  ]);
  const seenByA = h.collect(ca, 'excl');
  const gotB = h.waitEvent(cb, 'excl');
  await ctx.rest().trigger('private-interop-exclude-node', 'excl', { who: 'not a' }, { socket_id: a.connection.socket_id });
  assert.deepEqual((await gotB).data, { who: 'not a' });
  await h.sleep(h.QUIET_MS);
  seenByA.stop();
  assert.equal(seenByA.got.length, 0, `excluded socket ${a.connection.socket_id} received the event`);
});

ctx.test('pusher-http-go v5.1.1 trigger reaches a pusher-js client with the exact data', async () => {
  const c = await ctx.connect('receiver');
  const { channel } = await h.subscribe(c, 'interop-go');
  const got = h.waitEvent(channel, 'from-go');
  await h.goTrigger(ctx.server, { channel: 'interop-go', event: 'from-go', data: '{"lang":"go","n":7,"ok":true}' });
  const { data } = await got;
  assert.deepEqual(data, { lang: 'go', n: 7, ok: true });
});

ctx.test('pusher-http-go v5.1.1 trigger on a private channel with socket_id exclusion', async () => {
  const [a, b] = await Promise.all([ctx.connect('excluded'), ctx.connect('other')]);
  const [{ channel: ca }, { channel: cb }] = await Promise.all([
    h.subscribe(a, 'private-interop-exclude-go'),
    h.subscribe(b, 'private-interop-exclude-go'),
  ]);
  const seenByA = h.collect(ca, 'excl-go');
  const gotB = h.waitEvent(cb, 'excl-go');
  await h.goTrigger(ctx.server, {
    channel: 'private-interop-exclude-go',
    event: 'excl-go',
    data: '{"from":"go"}',
    socketId: a.connection.socket_id,
  });
  assert.deepEqual((await gotB).data, { from: 'go' });
  await h.sleep(h.QUIET_MS);
  seenByA.stop();
  assert.equal(seenByA.got.length, 0, `excluded socket ${a.connection.socket_id} received the event`);
});

ctx.test('pusher (Node SDK) reads channel info over the HTTP API', async () => {
  const c = await ctx.connect('receiver', { userId: '5', userName: 'Five' });
  await h.subscribe(c, 'presence-interop-info');
  const res = await ctx.rest().get({ path: '/channels/presence-interop-info', params: { info: 'user_count' } });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.occupied, true);
  assert.equal(body.user_count, 1);
  const users = await (await ctx.rest().get({ path: '/channels/presence-interop-info/users' })).json();
  assert.deepEqual(users, { users: [{ id: '5' }] });
});
