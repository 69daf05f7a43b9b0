'use strict';
// Shared harness for the interop suite: starts `pushcert serve` and a Laravel-style
// channel-authorization endpoint, builds real pusher-js / pusher (Node SDK) clients
// pointed at them, and offers small promise helpers with timeouts.
//
// Environment:
//   PUSHCERT_BIN       absolute path to the pushcert binary (required)
//   PUSHCERT_GOTRIGGER optional path to a prebuilt ./interop/gotrigger binary
//                      (otherwise it is built once per test process with `go build`
//                      from the repo root, the equivalent of `go run ./interop/gotrigger`)
//   INTEROP_VERBOSE=1  also print server stderr and client frames for passing tests

const { spawn, execFile } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const nodeTest = require('node:test');

const PusherJS = require('pusher-js');
const PusherServer = require('pusher');

const REPO_ROOT = path.resolve(__dirname, '..');
const WAIT_MS = 5000; // default timeout for every single wait in the tests
const TEST_TIMEOUT_MS = 30000; // per-test ceiling
const QUIET_MS = 700; // how long "must NOT receive" assertions listen
// 32 raw bytes, base64: the app's end-to-end encryption master key for
// private-encrypted- channels (known only to the app, never to the server).
const ENCRYPTION_MASTER_KEY_BASE64 = Buffer.from('pushcert-interop-master-key-32b!').toString('base64');

PusherJS.logToConsole = false;

// ---------------------------------------------------------------------------
// raw WebSocket frame recorder
//
// pusher-js' Node runtime builds its sockets through Runtime.createWebSocket;
// wrapping it records every frame sent and received on every connection made
// by any pusher-js client in this process (laravel-echo's included), keyed by
// the socket_id the server assigned. Used for assertions on the exact wire
// format and for failure reports.

const rawSockets = [];
{
  const runtime = PusherJS.Runtime;
  const orig = runtime.createWebSocket;
  runtime.createWebSocket = function createWebSocket(url) {
    const ws = orig.call(this, url);
    const rec = { url, socketId: null, frames: [], started: Date.now() };
    rawSockets.push(rec);
    const origSend = ws.send.bind(ws);
    ws.send = (d) => {
      rec.frames.push({ dir: '=>', t: Date.now(), raw: String(d) });
      return origSend(d);
    };
    ws.addEventListener('message', (ev) => {
      const raw = typeof ev.data === 'string' ? ev.data : String(ev.data);
      rec.frames.push({ dir: '<=', t: Date.now(), raw });
      if (!rec.socketId) {
        try {
          const m = JSON.parse(raw);
          if (m.event === 'pusher:connection_established') {
            const d = typeof m.data === 'string' ? JSON.parse(m.data) : m.data;
            rec.socketId = d && d.socket_id ? String(d.socket_id) : null;
          }
        } catch {
          /* recorded raw anyway */
        }
      }
    });
    ws.addEventListener('close', (ev) => {
      rec.frames.push({ dir: 'closed', t: Date.now(), raw: `code=${ev.code} reason=${JSON.stringify(ev.reason || '')}` });
    });
    return ws;
  };
}

/** Raw frames ({dir:'<='|'=>'|'closed', raw}) of the connection with this socket_id. */
function rawFrames(socketId) {
  const rec = rawSockets.find((r) => r.socketId === socketId);
  return rec ? rec.frames : [];
}

/** Parsed frames received (dir '<=') by the connection with this socket_id. */
function receivedFrames(socketId) {
  return rawFrames(socketId)
    .filter((f) => f.dir === '<=')
    .map((f) => {
      try {
        return JSON.parse(f.raw);
      } catch {
        return { unparseable: f.raw };
      }
    });
}

// ---------------------------------------------------------------------------
// small utilities

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resolves to a free TCP port on 127.0.0.1 (listen on :0, read it, close). */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function httpGetStatus(url, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
  });
}

/**
 * Races `promise` against a timer. `what` describes the awaited thing for the
 * error message.
 */
function withTimeout(promise, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------
// the server under test

/**
 * Starts `$PUSHCERT_BIN serve` on a free loopback port and waits for GET /up == 200.
 * Returns {port, host, appId, key, secret, url, stderr(), stdout(), stop()}.
 */
async function startServer(opts = {}) {
  const bin = process.env.PUSHCERT_BIN;
  if (!bin) {
    throw new Error(
      'PUSHCERT_BIN is not set: point it at the pushcert binary, e.g.\n' +
        '  (cd .. && go build -o bin/pushcert ./cmd/pushcert) && PUSHCERT_BIN=$PWD/../bin/pushcert node --test',
    );
  }
  if (!path.isAbsolute(bin)) throw new Error(`PUSHCERT_BIN must be an absolute path, got ${JSON.stringify(bin)}`);
  if (!fs.existsSync(bin)) throw new Error(`PUSHCERT_BIN=${bin} does not exist`);

  const appId = opts.appId || '424242';
  const key = opts.key || 'interop-key';
  const secret = opts.secret || 'interop-secret';
  const host = '127.0.0.1';
  const port = await freePort();
  const args = ['serve', '--addr', `${host}:${port}`, '--app-id', appId, '--key', key, '--secret', secret, ...(opts.serveArgs || [])];
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  let exited = null;
  const exitPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
    child.on('error', (err) => {
      exited = { code: null, signal: null, error: err };
      resolve(exited);
    });
  });

  const url = `http://${host}:${port}`;
  const deadline = Date.now() + 10000;
  for (;;) {
    if (exited) {
      throw new Error(
        `pushcert exited before becoming ready (${JSON.stringify(exited)}): ${bin} ${args.join(' ')}\n--- stderr ---\n${stderr}`,
      );
    }
    if ((await httpGetStatus(`${url}/up`)) === 200) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`pushcert did not answer 200 on ${url}/up within 10 s\n--- stderr ---\n${stderr}`);
    }
    await sleep(50);
  }

  return {
    host,
    port,
    appId,
    key,
    secret,
    url,
    args,
    stderr: () => stderr,
    stdout: () => stdout,
    exited: () => exited,
    async stop() {
      if (exited) return exited;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      const r = await exitPromise;
      clearTimeout(killer);
      return r;
    },
  };
}

/** The `pusher` Node server SDK pointed at the server's HTTP API. */
function restClient(server) {
  return new PusherServer({
    appId: server.appId,
    key: server.key,
    secret: server.secret,
    host: server.host,
    port: String(server.port),
    useTLS: false,
    encryptionMasterKeyBase64: ENCRYPTION_MASTER_KEY_BASE64,
  });
}

// ---------------------------------------------------------------------------
// channel-authorization endpoint (what a Laravel/Express app would run)

/**
 * Starts http://127.0.0.1:A/broadcasting/auth. It reads form-encoded socket_id
 * and channel_name and answers with pusher's authorizeChannel(). For presence
 * channels channel_data is {user_id, user_info:{id, name}} (Laravel's shape: the
 * channel callback's array becomes user_info), where the user id comes from the
 * X-User-Id header (or a user_id form param) and the name from X-User-Name (or
 * user_name), defaulting to "User <id>". Channels named private-forbidden-* /
 * presence-forbidden-* get a 403.
 *
 * It also serves /broadcasting/user-auth for pusher.signin(): pusher's
 * authenticateUser(socketId, {id, user_info:{name}}) with the same user id.
 */
async function startAuthServer(server) {
  const pusher = restClient(server);
  const requests = [];
  const srv = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const reply = (status, obj) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(obj));
      };
      const u = new URL(req.url, 'http://localhost');
      const form = new URLSearchParams(body);
      const socketId = form.get('socket_id');
      const channel = form.get('channel_name');
      const userId = req.headers['x-user-id'] || form.get('user_id');
      const userName = req.headers['x-user-name'] || form.get('user_name') || (userId ? `User ${userId}` : undefined);
      if (req.method === 'POST' && u.pathname === '/broadcasting/user-auth') {
        // user authentication for pusher.signin(): pusher's authenticateUser()
        const rec = { socketId, userAuth: true, userId, response: null, error: null };
        requests.push(rec);
        try {
          if (!socketId || !userId) throw new Error('socket_id and a user id (X-User-Id) are required');
          rec.response = pusher.authenticateUser(socketId, { id: String(userId), user_info: { name: userName } });
          return reply(200, rec.response);
        } catch (err) {
          rec.error = String(err && err.message ? err.message : err);
          return reply(400, { error: rec.error });
        }
      }
      if (req.method !== 'POST' || u.pathname !== '/broadcasting/auth') {
        return reply(404, { error: 'not found' });
      }
      const rec = { socketId, channel, userId, response: null, error: null };
      requests.push(rec);
      try {
        if (!socketId || !channel) throw new Error('socket_id and channel_name are required');
        if (channel.startsWith('private-forbidden-') || channel.startsWith('presence-forbidden-')) {
          rec.error = 'forbidden';
          return reply(403, { error: 'forbidden' });
        }
        let auth;
        if (channel.startsWith('presence-')) {
          if (!userId) throw new Error('presence channel needs a user id (X-User-Id header)');
          auth = pusher.authorizeChannel(socketId, channel, {
            user_id: String(userId),
            user_info: { id: String(userId), name: userName },
          });
        } else {
          auth = pusher.authorizeChannel(socketId, channel);
        }
        rec.response = auth;
        return reply(200, auth);
      } catch (err) {
        rec.error = String(err && err.message ? err.message : err);
        return reply(400, { error: rec.error });
      }
    });
  });
  await new Promise((resolve, reject) => {
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });
  const { port } = srv.address();
  return {
    port,
    endpoint: `http://127.0.0.1:${port}/broadcasting/auth`,
    userEndpoint: `http://127.0.0.1:${port}/broadcasting/user-auth`,
    requests,
    close: () =>
      new Promise((resolve) => {
        if (srv.closeAllConnections) srv.closeAllConnections();
        srv.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------
// clients

/** pusher-js options for the local server (see docs/recipes.md). */
function pusherJsOptions(server, auth, { userId, userName, extra } = {}) {
  const headers = {};
  if (userId !== undefined) headers['X-User-Id'] = String(userId);
  if (userName !== undefined) headers['X-User-Name'] = String(userName);
  return {
    cluster: 'mt1',
    wsHost: server.host,
    wsPort: server.port,
    wssPort: server.port,
    forceTLS: false,
    enableStats: false,
    enabledTransports: ['ws'],
    channelAuthorization: { endpoint: auth.endpoint, transport: 'ajax', headers },
    userAuthentication: { endpoint: auth.userEndpoint, transport: 'ajax', headers },
    ...(extra || {}),
  };
}

/**
 * Wraps a pusher-js client so that every frame it receives is recorded (for
 * failure diagnostics) and a human label is attached.
 */
function instrument(client, label) {
  const frames = [];
  const errors = [];
  const states = [];
  client.__label = label;
  client.__frames = frames;
  client.__errors = errors;
  client.__states = states;
  client.connection.bind('message', (m) => {
    frames.push({ t: Date.now(), event: m.event, channel: m.channel, data: m.data, user_id: m.user_id });
  });
  client.connection.bind('error', (e) => errors.push(e));
  client.connection.bind('state_change', (s) => states.push(`${s.previous}->${s.current}`));
  return client;
}

function describeClient(c) {
  const sid = c.connection && c.connection.socket_id;
  const lines = [`--- client ${c.__label} (socket_id=${sid}) ---`];
  lines.push(`states: ${c.__states.join(', ') || '(none)'}`);
  if (c.__errors.length) lines.push(`errors: ${safeJSON(c.__errors)}`);
  return lines.join('\n');
}

/** Raw frames of every WebSocket opened since `since` (ms epoch), labelled with client names. */
function describeSockets(since, clients) {
  const labels = new Map();
  for (const c of clients) {
    const sid = c.connection && c.connection.socket_id;
    if (sid) labels.set(sid, c.__label);
  }
  const out = [];
  for (const r of rawSockets) {
    if (r.started < since) continue;
    out.push(`--- ws ${r.url} socket_id=${r.socketId} client=${labels.get(r.socketId) || '?'} ---`);
    for (const f of r.frames) out.push(`  ${f.dir} ${f.raw}`);
  }
  return out.join('\n');
}

function safeJSON(v) {
  try {
    return JSON.stringify(v, (k, val) => (val instanceof Error ? String(val) : val));
  } catch {
    return String(v);
  }
}

/** Resolves when a pusher-js client is connected; rejects on failed/unavailable. */
function waitConnected(client, ms = WAIT_MS) {
  const conn = client.connection;
  if (conn.state === 'connected') return Promise.resolve(conn.socket_id);
  let onChange;
  const p = new Promise((resolve, reject) => {
    onChange = ({ current }) => {
      if (current === 'connected') resolve(conn.socket_id);
      else if (current === 'failed' || current === 'unavailable') {
        reject(new Error(`${client.__label || 'client'} connection went ${current}; errors: ${safeJSON(client.__errors)}`));
      }
    };
    conn.bind('state_change', onChange);
  });
  return withTimeout(p, ms, `${client.__label || 'client'} to connect (state=${conn.state})`).finally(() =>
    conn.unbind('state_change', onChange),
  );
}

/**
 * Waits for `event` on a pusher-js channel (or any object with bind/unbind).
 * `pred` optionally filters the payloads.
 */
function waitEvent(emitter, event, { ms = WAIT_MS, pred, what } = {}) {
  let handler;
  const p = new Promise((resolve) => {
    handler = (data, meta) => {
      if (!pred || pred(data, meta)) resolve({ data, meta });
    };
    emitter.bind(event, handler);
  });
  const name = what || `event ${JSON.stringify(event)}${emitter.name ? ` on ${emitter.name}` : ''}`;
  return withTimeout(p, ms, name).finally(() => emitter.unbind(event, handler));
}

/** Collects every `event` on the emitter until stop() is called. */
function collect(emitter, event) {
  const got = [];
  const handler = (data, meta) => got.push({ data, meta });
  emitter.bind(event, handler);
  return {
    got,
    stop: () => emitter.unbind(event, handler),
  };
}

/**
 * Subscribes and resolves with {channel, data} on pusher:subscription_succeeded;
 * rejects on pusher:subscription_error or timeout.
 */
function subscribe(client, name, ms = WAIT_MS) {
  const ch = client.subscribe(name);
  let ok;
  let bad;
  const p = new Promise((resolve, reject) => {
    ok = (data) => resolve({ channel: ch, data });
    bad = (err) =>
      reject(new Error(`${client.__label || 'client'}: pusher:subscription_error on ${name}: ${safeJSON(err)}`));
    ch.bind('pusher:subscription_succeeded', ok);
    ch.bind('pusher:subscription_error', bad);
  });
  return withTimeout(p, ms, `${client.__label || 'client'}: pusher:subscription_succeeded on ${name}`).finally(() => {
    ch.unbind('pusher:subscription_succeeded', ok);
    ch.unbind('pusher:subscription_error', bad);
  });
}

/** Polls `fn` every 20 ms until it returns a truthy value (resolved), or times out. */
async function waitUntil(fn, what, ms = WAIT_MS) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Listens for `ms` and fails if `event` arrives on `emitter`. */
async function expectNoEvent(emitter, event, ms = QUIET_MS, who = '') {
  const c = collect(emitter, event);
  await sleep(ms);
  c.stop();
  if (c.got.length) {
    throw new Error(
      `${who ? `${who}: ` : ''}expected no ${JSON.stringify(event)} within ${ms} ms, but got ${safeJSON(c.got.map((g) => g.data))}`,
    );
  }
}

// ---------------------------------------------------------------------------
// pusher-http-go trigger

let goTriggerBin = null;

/**
 * Resolves the path of a gotrigger binary: $PUSHCERT_GOTRIGGER if set, else
 * builds ./interop/gotrigger once per process into a temp dir (equivalent to
 * `go run ./interop/gotrigger`, but compiled outside the per-test timeouts).
 */
function ensureGoTrigger() {
  if (process.env.PUSHCERT_GOTRIGGER) return Promise.resolve(process.env.PUSHCERT_GOTRIGGER);
  if (!goTriggerBin) {
    const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'pushcert-gotrigger-'));
    const out = path.join(dir, 'gotrigger');
    goTriggerBin = new Promise((resolve, reject) => {
      execFile('go', ['build', '-o', out, './interop/gotrigger'], { cwd: REPO_ROOT, timeout: 300000 }, (err, _o, stderr) => {
        if (err) reject(new Error(`go build ./interop/gotrigger failed: ${err.message}\n${stderr}`));
        else resolve(out);
      });
    });
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  return goTriggerBin;
}

/**
 * Triggers one event via pusher-http-go v5 (interop/gotrigger). Resolves
 * {stdout, stderr}; rejects on non-zero exit.
 */
async function goTrigger(server, { channel, event, data, socketId }) {
  const flags = [
    '-host', server.host,
    '-port', String(server.port),
    '-app-id', server.appId,
    '-key', server.key,
    '-secret', server.secret,
    '-channel', channel,
    '-event', event,
    '-data', typeof data === 'string' ? data : JSON.stringify(data),
  ];
  if (socketId) flags.push('-socket-id', socketId);
  const file = await ensureGoTrigger();
  return new Promise((resolve, reject) => {
    execFile(file, flags, { cwd: REPO_ROOT, timeout: 20000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`gotrigger failed (${file} ${flags.join(' ')}): ${err.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

// ---------------------------------------------------------------------------
// per-file suite context

/**
 * Registers before/after hooks that start the server and auth endpoint for the
 * current test file, and returns a context:
 *   ctx.server, ctx.auth           (valid inside tests)
 *   ctx.test(name, fn)             node:test test() that dumps server stderr and
 *                                  client frames on failure and disconnects clients
 *   ctx.client(label, {userId})    a connected-on-demand instrumented pusher-js client
 *   ctx.connect(label, {userId})   ditto, resolved once connected
 *   ctx.rest()                     pusher Node SDK client for the HTTP API
 */
function suite(opts = {}) {
  const ctx = {
    server: null,
    auth: null,
    clients: [],
    cleanups: [],
  };

  nodeTest.before(async () => {
    if (opts.goTrigger) await ensureGoTrigger();
    ctx.server = await startServer(opts);
    ctx.auth = await startAuthServer(ctx.server);
  });

  nodeTest.after(async () => {
    for (const c of ctx.clients.splice(0)) safeDisconnect(c);
    if (ctx.auth) await ctx.auth.close();
    if (ctx.server) {
      const r = await ctx.server.stop();
      if (process.env.INTEROP_VERBOSE) {
        process.stderr.write(`pushcert exit: ${safeJSON(r)}\n--- pushcert stderr ---\n${ctx.server.stderr()}\n`);
      }
    }
  });

  ctx.client = (label, { userId, userName, extra } = {}) => {
    const c = instrument(new PusherJS(ctx.server.key, pusherJsOptions(ctx.server, ctx.auth, { userId, userName, extra })), label);
    ctx.clients.push(c);
    return c;
  };

  ctx.connect = async (label, o) => {
    const c = ctx.client(label, o);
    await waitConnected(c);
    return c;
  };

  ctx.track = (c, label) => {
    if (label && !c.__label) instrument(c, label);
    ctx.clients.push(c);
    return c;
  };

  ctx.onCleanup = (fn) => ctx.cleanups.push(fn);

  ctx.rest = () => restClient(ctx.server);

  ctx.dump = (since = 0) => {
    const parts = [];
    for (const c of ctx.clients) if (c.__frames) parts.push(describeClient(c));
    parts.push(describeSockets(since, ctx.clients));
    if (ctx.auth) parts.push(`--- auth endpoint requests ---\n${ctx.auth.requests.map((r) => safeJSON(r)).join('\n')}`);
    if (ctx.server) {
      const ex = ctx.server.exited();
      const lines = ctx.server.stderr().split('\n');
      const shown = lines.length > 300 ? ['[... earlier lines omitted ...]', ...lines.slice(-300)] : lines;
      parts.push(`--- pushcert stderr${ex ? ` (EXITED ${safeJSON(ex)})` : ''} ---\n${shown.join('\n')}`);
    }
    return parts.join('\n');
  };

  ctx.test = (name, fn) =>
    nodeTest.test(name, { timeout: TEST_TIMEOUT_MS }, async (t) => {
      let failed = null;
      const since = Date.now();
      try {
        await fn(t);
      } catch (err) {
        failed = err;
      }
      if (failed || process.env.INTEROP_VERBOSE) {
        // the test runner relays the file's stderr into its report
        const text = `${failed ? 'FAILED' : 'passed'}: ${name}\n${ctx.dump(since)}`;
        process.stderr.write(`\n${text}\n`);
      }
      for (const fn2 of ctx.cleanups.splice(0).reverse()) {
        try {
          await fn2();
        } catch {
          /* ignore */
        }
      }
      for (const c of ctx.clients.splice(0)) safeDisconnect(c);
      if (ctx.auth) ctx.auth.requests.length = 0;
      if (failed) throw failed;
    });

  return ctx;
}

function safeDisconnect(c) {
  try {
    c.disconnect();
  } catch {
    /* ignore */
  }
}

module.exports = {
  PusherJS,
  PusherServer,
  WAIT_MS,
  QUIET_MS,
  REPO_ROOT,
  sleep,
  freePort,
  withTimeout,
  startServer,
  startAuthServer,
  restClient,
  ENCRYPTION_MASTER_KEY_BASE64,
  pusherJsOptions,
  instrument,
  describeClient,
  rawFrames,
  receivedFrames,
  waitConnected,
  waitEvent,
  collect,
  subscribe,
  expectNoEvent,
  waitUntil,
  goTrigger,
  ensureGoTrigger,
  suite,
};
