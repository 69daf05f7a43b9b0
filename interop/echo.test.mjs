// laravel-echo 2.5.0 (ESM-only) on top of pusher-js, against `pushcert serve`.
import assert from 'node:assert/strict';
import Echo from 'laravel-echo';
import PusherJS from 'pusher-js';
import h from './harness.js';

const ctx = h.suite();

function deferred() {
  let resolve;
  const promise = new Promise((r) => (resolve = r));
  return { promise, resolve };
}

/** Resolves with the first value passed to the callback registered by `register`. */
function once(register, what, ms = h.WAIT_MS) {
  const d = deferred();
  register((first) => d.resolve(first));
  return h.withTimeout(d.promise, ms, what);
}

/** A Laravel-style Echo client; `broadcaster` 'reverb' (default) or 'pusher'. */
function makeEcho(label, { userId, userName, broadcaster = 'reverb' } = {}) {
  const headers = {};
  if (userId !== undefined) headers['X-User-Id'] = String(userId);
  if (userName !== undefined) headers['X-User-Name'] = userName;
  const options = {
    broadcaster,
    key: ctx.server.key,
    wsHost: ctx.server.host,
    wsPort: ctx.server.port,
    wssPort: ctx.server.port,
    forceTLS: false,
    enableStats: false,
    enabledTransports: ['ws'],
    authEndpoint: ctx.auth.endpoint,
    auth: { headers },
    Pusher: PusherJS,
  };
  if (broadcaster === 'pusher') options.cluster = 'mt1';
  const echo = new Echo(options);
  ctx.track(echo.connector.pusher, label);
  return echo;
}

ctx.test("Echo (broadcaster 'reverb'): channel().listen('.name') receives a triggered event", async () => {
  const echo = makeEcho('echo');
  const ch = echo.channel('orders');
  const subscribed = once((cb) => ch.subscribed(cb), 'Echo subscribed() on orders');
  const got = once((cb) => ch.listen('.order.shipped', cb), "Echo listen('.order.shipped')");
  await subscribed;
  assert.match(echo.socketId(), /^\d+\.\d+$/);
  assert.equal(echo.connectionStatus(), 'connected');
  await ctx.rest().trigger('orders', 'order.shipped', { order: { id: 17, total: 9.5 } });
  assert.deepEqual(await got, { order: { id: 17, total: 9.5 } });
});

ctx.test("Echo listen('OrderShipped') receives Laravel's App\\Events\\OrderShipped event name", async () => {
  const echo = makeEcho('echo');
  const ch = echo.channel('orders-ns');
  const subscribed = once((cb) => ch.subscribed(cb), 'Echo subscribed() on orders-ns');
  const got = once((cb) => ch.listen('OrderShipped', cb), "Echo listen('OrderShipped')");
  await subscribed;
  await ctx.rest().trigger('orders-ns', 'App\\Events\\OrderShipped', { id: 5 });
  assert.deepEqual(await got, { id: 5 });
});

ctx.test("Echo (broadcaster 'pusher' with cluster + wsHost) receives an event too", async () => {
  const echo = makeEcho('echo-pusher', { broadcaster: 'pusher' });
  const ch = echo.channel('orders-pusher');
  const subscribed = once((cb) => ch.subscribed(cb), 'Echo subscribed() on orders-pusher');
  const got = once((cb) => ch.listen('.tick', cb), "Echo listen('.tick')");
  await subscribed;
  await ctx.rest().trigger('orders-pusher', 'tick', { n: 1 });
  assert.deepEqual(await got, { n: 1 });
});

ctx.test('Echo private(): subscribes private-… through the auth endpoint and receives events', async () => {
  const echo = makeEcho('echo', { userId: '1', userName: 'Alice' });
  const ch = echo.private('App.Models.User.1');
  const subscribed = once((cb) => ch.subscribed(cb), 'Echo subscribed() on private-App.Models.User.1');
  const failed = deferred();
  ch.error((e) => failed.resolve(e));
  const r = await Promise.race([subscribed.then(() => 'ok'), failed.promise.then((e) => ({ error: e }))]);
  assert.equal(r, 'ok', `subscription error: ${JSON.stringify(r)}`);
  assert.ok(ctx.auth.requests.some((q) => q.channel === 'private-App.Models.User.1'), 'auth endpoint was called');
  const got = once((cb) => ch.listen('.invoice.paid', cb), "listen('.invoice.paid')");
  await ctx.rest().trigger('private-App.Models.User.1', 'invoice.paid', { amount: 100 });
  assert.deepEqual(await got, { amount: 100 });
});

ctx.test('Echo whisper()/listenForWhisper() between two clients on a private channel', async () => {
  const a = makeEcho('echo-a', { userId: '1' });
  const b = makeEcho('echo-b', { userId: '2' });
  const ca = a.private('chat.1');
  const cb = b.private('chat.1');
  await Promise.all([
    once((f) => ca.subscribed(f), 'a subscribed'),
    once((f) => cb.subscribed(f), 'b subscribed'),
  ]);
  const echoed = [];
  ca.listenForWhisper('typing', (e) => echoed.push(e));
  const got = once((f) => cb.listenForWhisper('typing', f), 'b listenForWhisper(typing)');
  ca.whisper('typing', { name: 'Alice', typing: true });
  assert.deepEqual(await got, { name: 'Alice', typing: true });
  await h.sleep(h.QUIET_MS);
  assert.deepEqual(echoed, [], 'whisper echoed to the sender');
});

ctx.test('Echo join(): here / joining / leaving deliver user_info objects', async () => {
  const alice = makeEcho('echo-alice', { userId: '1', userName: 'Alice' });
  const room = alice.join('chat-room');
  const joined = [];
  const left = [];
  room.joining((u) => joined.push(u));
  room.leaving((u) => left.push(u));
  const here = await once((f) => room.here(f), 'Echo here() for alice');
  assert.deepEqual(here, [{ id: '1', name: 'Alice' }]);

  const bob = makeEcho('echo-bob', { userId: '2', userName: 'Bob' });
  const bobRoom = bob.join('chat-room');
  const bobHere = await once((f) => bobRoom.here(f), 'Echo here() for bob');
  assert.deepEqual(
    [...bobHere].sort((x, y) => x.id.localeCompare(y.id)),
    [
      { id: '1', name: 'Alice' },
      { id: '2', name: 'Bob' },
    ],
  );
  await h.withTimeout(
    (async () => {
      while (joined.length === 0) await h.sleep(20);
    })(),
    h.WAIT_MS,
    'joining() on alice',
  );
  assert.deepEqual(joined, [{ id: '2', name: 'Bob' }]);

  bob.disconnect();
  await h.withTimeout(
    (async () => {
      while (left.length === 0) await h.sleep(20);
    })(),
    h.WAIT_MS,
    'leaving() on alice',
  );
  assert.deepEqual(left, [{ id: '2', name: 'Bob' }]);
  assert.equal(joined.length, 1, 'joining fired more than once');
});

ctx.test('Echo leave(): leaving a presence channel fires leaving() for the others', async () => {
  const alice = makeEcho('echo-alice', { userId: '1', userName: 'Alice' });
  const room = alice.join('lobby');
  await once((f) => room.here(f), 'alice here()');
  const leftP = once((f) => room.leaving(f), 'alice leaving()');
  const joinP = once((f) => room.joining(f), 'alice joining()');
  const carol = makeEcho('echo-carol', { userId: '3', userName: 'Carol' });
  await once((f) => carol.join('lobby').here(f), 'carol here()');
  assert.deepEqual(await joinP, { id: '3', name: 'Carol' });
  carol.leave('lobby');
  assert.deepEqual(await leftP, { id: '3', name: 'Carol' });
});
