'use strict';
// Features beyond plain channels, still driven only by real client libraries:
// end-to-end encrypted channels, user sign-in + server-to-user events,
// terminate_connections, batch triggers, cache channels and subscription counting (on for this
// server: the other tests run with its pusher_internal:subscription_count frames about).
const assert = require('node:assert/strict');
const h = require('./harness');

const ctx = h.suite({ serveArgs: ['--subscription-count'] });

/** Signs a pusher-js client in and waits until its #server-to-user channel is subscribed. */
async function signIn(c, userId) {
  c.signin();
  await h.waitUntil(
    () => c.user.serverToUserChannel && c.user.serverToUserChannel.subscribed,
    `${c.__label}: signin_success and #server-to-user-${userId} subscribed`,
  );
  assert.equal(c.user.user_data.id, userId);
}

ctx.test('private-encrypted: pusher-js decrypts an event encrypted by the pusher Node SDK', async () => {
  const c = await ctx.connect('vault');
  const name = 'private-encrypted-interop-vault';
  const { channel } = await h.subscribe(c, name);
  const req = ctx.auth.requests.find((r) => r.channel === name);
  assert.ok(req.response.shared_secret, 'auth response carried shared_secret');
  const got = h.waitEvent(channel, 'pin');
  await ctx.rest().trigger(name, 'pin', { pin: 'SECRET-1234' });
  assert.deepEqual((await got).data, { pin: 'SECRET-1234' });
  const frame = h.receivedFrames(c.connection.socket_id).find((f) => f.event === 'pin');
  const wire = typeof frame.data === 'string' ? frame.data : JSON.stringify(frame.data);
  assert.ok(wire.includes('ciphertext') && wire.includes('nonce'), `wire data not encrypted: ${wire}`);
  assert.ok(!wire.includes('SECRET-1234'), 'plaintext visible on the wire');
});

ctx.test('signin + sendToUser: pusher.user.bind() receives events sent to that user only', async () => {
  const [a, b] = await Promise.all([
    ctx.connect('user-31', { userId: '31', userName: 'ThirtyOne' }),
    ctx.connect('user-32', { userId: '32', userName: 'ThirtyTwo' }),
  ]);
  await Promise.all([signIn(a, '31'), signIn(b, '32')]);
  const signinOk = h.receivedFrames(a.connection.socket_id).find((f) => f.event === 'pusher:signin_success');
  assert.ok(signinOk, 'no pusher:signin_success frame');
  const wrong = [];
  b.user.bind('notice', (d) => wrong.push(d));
  const got = new Promise((resolve) => a.user.bind('notice', resolve));
  await ctx.rest().sendToUser('31', 'notice', { text: 'your tickets are ready' });
  assert.deepEqual(await h.withTimeout(got, h.WAIT_MS, "user 31's notice"), { text: 'your tickets are ready' });
  await h.sleep(h.QUIET_MS);
  assert.deepEqual(wrong, [], 'user 32 received user 31 event');
});

ctx.test('terminateUserConnections closes every connection of that user, not the others', async () => {
  const [t1, t2, other] = await Promise.all([
    ctx.connect('user-33-tab1', { userId: '33' }),
    ctx.connect('user-33-tab2', { userId: '33' }),
    ctx.connect('user-34', { userId: '34' }),
  ]);
  await Promise.all([signIn(t1, '33'), signIn(t2, '33'), signIn(other, '34')]);
  const ids = [t1, t2, other].map((c) => c.connection.socket_id);
  const res = await ctx.rest().terminateUserConnections('33');
  assert.equal(res.status, 200);
  const closedRaw = (sid) => h.rawFrames(sid).find((f) => f.dir === 'closed');
  await h.waitUntil(() => closedRaw(ids[0]) && closedRaw(ids[1]), 'both connections of user 33 to be closed');
  await h.sleep(h.QUIET_MS);
  assert.equal(closedRaw(ids[2]), undefined, 'user 34 was disconnected too');
  assert.equal(other.connection.socket_id, ids[2]);
});

ctx.test('triggerBatch (pusher Node SDK) delivers every event of the batch', async () => {
  const c = await ctx.connect('batch');
  const [{ channel: a }, { channel: b }] = await Promise.all([
    h.subscribe(c, 'interop-batch-a'),
    h.subscribe(c, 'private-interop-batch-b'),
  ]);
  const ga = h.waitEvent(a, 'one');
  const gb = h.waitEvent(b, 'two');
  const res = await ctx.rest().triggerBatch([
    { channel: 'interop-batch-a', name: 'one', data: { n: 1 } },
    { channel: 'private-interop-batch-b', name: 'two', data: { n: 2 } },
  ]);
  assert.equal(res.status, 200);
  assert.deepEqual((await ga).data, { n: 1 });
  assert.deepEqual((await gb).data, { n: 2 });
});

ctx.test('cache channel: a late pusher-js subscriber gets the last event; an empty one gets pusher:cache_miss', async () => {
  const rest = ctx.rest();
  await rest.trigger('cache-interop-price', 'price', { eur: 10 });
  await rest.trigger('cache-interop-price', 'price', { eur: 12 });
  const c = await ctx.connect('late');
  const hit = c.subscribe('cache-interop-price');
  const prices = h.collect(hit, 'price');
  const misses = h.collect(hit, 'pusher:cache_miss');
  await h.waitEvent(hit, 'pusher:subscription_succeeded');
  await h.waitUntil(() => prices.got.length >= 1, 'the cached price event');
  await h.sleep(300);
  assert.deepEqual(
    prices.got.map((g) => g.data),
    [{ eur: 12 }],
    'exactly the last cached event is replayed',
  );
  assert.equal(misses.got.length, 0);

  const empty = c.subscribe('cache-interop-empty');
  const miss = h.waitEvent(empty, 'pusher:cache_miss');
  await miss;
});

ctx.test('subscription counting: pusher-js keeps channel.subscriptionCount and emits pusher:subscription_count', async () => {
  const [a, b] = await Promise.all([ctx.connect('count-a'), ctx.connect('count-b')]);
  const name = 'interop-counted';
  const { channel } = await h.subscribe(a, name);
  await h.waitUntil(() => channel.subscriptionCount === 1, 'subscriptionCount 1 after the first subscribe');
  const two = h.waitEvent(channel, 'pusher:subscription_count', { pred: (d) => d.subscription_count === 2 });
  await h.subscribe(b, name);
  assert.deepEqual((await two).data, { subscription_count: 2 });
  assert.equal(channel.subscriptionCount, 2);
  b.unsubscribe(name);
  await h.waitUntil(() => channel.subscriptionCount === 1, 'subscriptionCount 1 after the other unsubscribed');
});
