'use strict';
// Presence membership as seen by pusher-js: members.count, pusher:member_added,
// pusher:member_removed.
const assert = require('node:assert/strict');
const h = require('./harness');

const ctx = h.suite();

ctx.test('presence: member_added / member_removed and members.count via pusher-js', async () => {
  const alice = await ctx.connect('alice', { userId: '1', userName: 'Alice' });
  const { channel: ca, data: initial } = await h.subscribe(alice, 'presence-interop-members');
  assert.equal(initial.count, 1);
  assert.equal(ca.members.count, 1);

  const added = h.waitEvent(ca, 'pusher:member_added');
  const bob = await ctx.connect('bob', { userId: '2', userName: 'Bob' });
  const { channel: cb, data: bobView } = await h.subscribe(bob, 'presence-interop-members');
  const { data: member } = await added;
  assert.equal(member.id, '2');
  assert.deepEqual(member.info, { id: '2', name: 'Bob' });
  assert.equal(ca.members.count, 2);

  // Bob's initial list contains both members with their user_info
  assert.equal(bobView.count, 2);
  assert.equal(bobView.me.id, '2');
  assert.deepEqual(bobView.members, { 1: { id: '1', name: 'Alice' }, 2: { id: '2', name: 'Bob' } });
  assert.equal(cb.members.count, 2);

  // Bob leaves by unsubscribing
  const removed = h.waitEvent(ca, 'pusher:member_removed');
  bob.unsubscribe('presence-interop-members');
  const { data: gone } = await removed;
  assert.equal(gone.id, '2');
  assert.equal(ca.members.count, 1);
  assert.deepEqual(ca.members.members, { 1: { id: '1', name: 'Alice' } });
});

ctx.test('presence: disconnect of a member triggers member_removed', async () => {
  const alice = await ctx.connect('alice', { userId: '1', userName: 'Alice' });
  const { channel: ca } = await h.subscribe(alice, 'presence-interop-disconnect');
  const added = h.waitEvent(ca, 'pusher:member_added');
  const carol = await ctx.connect('carol', { userId: '3', userName: 'Carol' });
  await h.subscribe(carol, 'presence-interop-disconnect');
  await added;
  assert.equal(ca.members.count, 2);
  const removed = h.waitEvent(ca, 'pusher:member_removed');
  carol.disconnect();
  const { data } = await removed;
  assert.equal(data.id, '3');
  assert.equal(ca.members.count, 1);
});

ctx.test('presence: a second connection of the same user does not add a member; only the last one leaving removes it', async () => {
  const alice = await ctx.connect('alice', { userId: '1', userName: 'Alice' });
  const { channel: ca } = await h.subscribe(alice, 'presence-interop-multitab');
  const addedEvents = h.collect(ca, 'pusher:member_added');
  const removedEvents = h.collect(ca, 'pusher:member_removed');

  const tab1 = await ctx.connect('dave-tab1', { userId: '4', userName: 'Dave' });
  await h.subscribe(tab1, 'presence-interop-multitab');
  const tab2 = await ctx.connect('dave-tab2', { userId: '4', userName: 'Dave' });
  const { data: tab2View } = await h.subscribe(tab2, 'presence-interop-multitab');
  assert.equal(tab2View.count, 2, 'tab2 sees alice and dave once');
  await h.sleep(300);
  assert.equal(addedEvents.got.length, 1, 'member_added must be sent once for user 4');
  // raw frames: exactly one pusher_internal:member_added for user 4 reached alice
  const rawAdds = alice.__frames.filter((f) => f.event === 'pusher_internal:member_added');
  assert.equal(rawAdds.length, 1, `raw member_added frames: ${JSON.stringify(rawAdds)}`);

  tab1.disconnect();
  await h.sleep(h.QUIET_MS);
  assert.equal(removedEvents.got.length, 0, 'member_removed sent while user 4 still has a connection');
  assert.equal(ca.members.count, 2);

  const removed = h.waitEvent(ca, 'pusher:member_removed');
  tab2.disconnect();
  assert.equal((await removed).data.id, '4');
  addedEvents.stop();
  removedEvents.stop();
  assert.equal(ca.members.count, 1);
});

ctx.test('presence: the joining member does not receive its own member_added', async () => {
  const alice = await ctx.connect('alice', { userId: '1', userName: 'Alice' });
  await h.subscribe(alice, 'presence-interop-self');
  const erin = await ctx.connect('erin', { userId: '5', userName: 'Erin' });
  await h.subscribe(erin, 'presence-interop-self');
  await h.sleep(h.QUIET_MS);
  const selfAdds = erin.__frames.filter((f) => f.event === 'pusher_internal:member_added');
  assert.equal(selfAdds.length, 0, `joining socket got member_added: ${JSON.stringify(selfAdds)}`);
});
