'use strict';
// pusher-js connects to `pushcert serve` and subscribes public, private and
// presence channels through a real channel-authorization endpoint.
const assert = require('node:assert/strict');
const h = require('./harness');

const ctx = h.suite();

ctx.test('pusher-js connects and receives a socket_id like "123.456"', async () => {
  const c = ctx.client('alice');
  const socketId = await h.waitConnected(c);
  assert.match(socketId, /^\d+\.\d+$/);
  assert.equal(c.connection.state, 'connected');
  // the handshake carried an activity_timeout (pusher-js refuses it otherwise)
  const est = h.receivedFrames(socketId).find((f) => f.event === 'pusher:connection_established');
  assert.ok(est, 'no pusher:connection_established frame recorded');
  assert.equal(typeof est.data, 'string', 'connection_established data should be a JSON string (double encoding)');
  const d = JSON.parse(est.data);
  assert.equal(d.socket_id, socketId);
  assert.ok(Number(d.activity_timeout) > 0, `activity_timeout=${d.activity_timeout}`);
});

ctx.test('two connections get distinct socket_ids', async () => {
  const [a, b] = await Promise.all([ctx.connect('a'), ctx.connect('b')]);
  assert.match(a.connection.socket_id, /^\d+\.\d+$/);
  assert.match(b.connection.socket_id, /^\d+\.\d+$/);
  assert.notEqual(a.connection.socket_id, b.connection.socket_id);
});

ctx.test('subscribes a public channel: pusher:subscription_succeeded', async () => {
  const c = await ctx.connect('alice');
  const { channel } = await h.subscribe(c, 'interop-public');
  assert.equal(channel.subscribed, true);
  // no auth request is made for a public channel
  assert.equal(ctx.auth.requests.filter((r) => r.channel === 'interop-public').length, 0);
});

ctx.test('subscribes a private channel through the auth endpoint', async () => {
  const c = await ctx.connect('alice');
  const { channel } = await h.subscribe(c, 'private-interop');
  assert.equal(channel.subscribed, true);
  const reqs = ctx.auth.requests.filter((r) => r.channel === 'private-interop');
  assert.equal(reqs.length, 1, 'exactly one auth request for private-interop');
  assert.equal(reqs[0].socketId, c.connection.socket_id);
  assert.ok(reqs[0].response && reqs[0].response.auth.startsWith(`${ctx.server.key}:`));
});

ctx.test('subscribes a presence channel: members contain me with user_info', async () => {
  const c = await ctx.connect('alice', { userId: '1', userName: 'Alice' });
  const { channel, data: members } = await h.subscribe(c, 'presence-interop-lobby');
  assert.equal(channel.subscribed, true);
  assert.equal(members.count, 1);
  assert.equal(members.me.id, '1');
  assert.deepEqual(members.me.info, { id: '1', name: 'Alice' });
  assert.deepEqual(members.members, { 1: { id: '1', name: 'Alice' } });
  const req = ctx.auth.requests.find((r) => r.channel === 'presence-interop-lobby');
  assert.ok(req && req.response && typeof req.response.channel_data === 'string', 'auth response carried channel_data');
});

ctx.test('subscribes public, private and presence channels on one connection', async () => {
  const c = await ctx.connect('alice', { userId: '7', userName: 'Seven' });
  const results = await Promise.all([
    h.subscribe(c, 'interop-multi'),
    h.subscribe(c, 'private-interop-multi'),
    h.subscribe(c, 'presence-interop-multi'),
  ]);
  for (const r of results) assert.equal(r.channel.subscribed, true);
  assert.equal(results[2].data.count, 1);
});

ctx.test('a rejected auth (403 from the app) leaves the private channel unsubscribed', async () => {
  const c = await ctx.connect('alice');
  const ch = c.subscribe('private-forbidden-room');
  const { data } = await h.waitEvent(ch, 'pusher:subscription_error');
  assert.equal(data.status, 403);
  assert.equal(ch.subscribed, false);
});

ctx.test('unsubscribe then resubscribe works', async () => {
  const c = await ctx.connect('alice');
  await h.subscribe(c, 'private-interop-resub');
  c.unsubscribe('private-interop-resub');
  await h.sleep(100);
  const { channel } = await h.subscribe(c, 'private-interop-resub');
  assert.equal(channel.subscribed, true);
});

ctx.test('a forged private-channel signature is refused by the server (no subscription_succeeded)', async () => {
  const c = await ctx.connect('mallory', {
    extra: {
      channelAuthorization: {
        customHandler: (params, cb) => cb(null, { auth: `${ctx.server.key}:${'0'.repeat(64)}` }),
      },
    },
  });
  const ch = c.subscribe('private-interop-forged');
  const ok = h.collect(ch, 'pusher:subscription_succeeded');
  await h.sleep(1000);
  ok.stop();
  assert.equal(ok.got.length, 0, 'server accepted a forged signature');
  assert.equal(ch.subscribed, false);
  // The server should say something: a pusher:error (code 4009 or null) or a
  // pusher:subscription_error for the channel. Record what it sent.
  const complaint = c.__frames.find(
    (f) => f.event === 'pusher:error' || (f.event === 'pusher:subscription_error' && f.channel === 'private-interop-forged'),
  );
  assert.ok(complaint, 'server sent no pusher:error / pusher:subscription_error for a forged signature');
});

ctx.test('idle pusher-js sends pusher:ping and the server answers pusher:pong (no reconnect)', async () => {
  // activityTimeout 1 s: pusher-js pings after 1 s of silence and reconnects if no pong within 1 s
  const c = await ctx.connect('idle', { extra: { activityTimeout: 1000, pongTimeout: 1000 } });
  const sid = c.connection.socket_id;
  await h.sleep(2600);
  const sent = h.rawFrames(sid).filter((f) => f.dir === '=>' && JSON.parse(f.raw).event === 'pusher:ping');
  const pongs = h.receivedFrames(sid).filter((f) => f.event === 'pusher:pong');
  assert.ok(sent.length >= 1, 'pusher-js did not ping (test precondition)');
  assert.ok(pongs.length >= 1, 'server did not answer pusher:ping with pusher:pong');
  assert.equal(c.connection.socket_id, sid, 'client reconnected (pong missing or late)');
  const after = c.__states.slice(c.__states.indexOf('connecting->connected') + 1);
  assert.deepEqual(after, [], `connection left 'connected': ${c.__states.join(', ')}`);
});
