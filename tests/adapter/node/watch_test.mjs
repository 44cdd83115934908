// Watch delivery to components on Node (adapter/node/lib/watch_delivery.mjs): the watch guest
// (tests/adapter/guests/watch_guest.c) as a component is told of every change to the bucket it
// opened, whoever writes it: a core guest on wabt, the wasikv CLI; and the reverse, wasikv-run
// watching on wabt while the component writes. check-watch compares the guest's log with the
// writes (guests/watch_log.h). Nothing sleeps: each side waits for the other's output.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { loadComponent } from '../../../adapter/node/lib/run_component.mjs';
import { componentPath, coreGuestPath, testHostOptions } from './guest_components.mjs';
import { RunningCommand, requiredEnv, startServerFor } from './wasikv_server.mjs';
import { kEvents, kTimeoutMs, writeSequenceWithCli } from './watch_sequence.mjs';


function loadWatchGuest(server, options = {}) {
  return loadComponent(componentPath('watch_guest'), { ...testHostOptions(server), ...options });
}

test('a component on Node watches what a guest on wabt writes', async (t) => {
  const server = await startServerFor(t);
  const watcher = await loadWatchGuest(server, { watch: true });
  t.after(() => watcher.close());
  // start opens "watched": every write to it from now on reaches the handlers.
  assert.equal(watcher.exports.start(), 0);
  const writer = await server.runCore(coreGuestPath('watch_guest'), ['--invoke', 'write_sequence']);
  assert.equal(writer.code, 0, writer.stderr);
  assert.equal(writer.stdout, '0\n');

  assert.equal(await watcher.watchDelivered(kEvents, kTimeoutMs), kEvents);
  assert.equal(watcher.exports.checkWatch(), 0, 'the log differs (tests/adapter/guests/watch_log.h)');
  assert.equal(watcher.exports.eventCount(), kEvents);
  // The handlers dropped every bucket they were given.
  assert.equal(watcher.session.openHandles(), 0);
});

test('a draft2 component on Node watches what the CLI writes', async (t) => {
  const server = await startServerFor(t);
  const watcher = await loadComponent(componentPath('watch_guest_draft2'), {
    ...testHostOptions(server),
    watch: true,
  });
  t.after(() => watcher.close());
  assert.equal(watcher.exports.start(), 0);
  await writeSequenceWithCli(server);
  assert.equal(await watcher.watchDelivered(kEvents, kTimeoutMs), kEvents);
  assert.equal(watcher.exports.checkWatch(), 0, 'the log differs (tests/adapter/guests/watch_log.h)');
  assert.equal(watcher.session.openHandles(), 0);
});

test('wasikv-run watches on wabt what a component on Node writes', async (t) => {
  const server = await startServerFor(t);
  const run = server.startCore(coreGuestPath('watch_guest'), [
    '--invoke',
    'start',
    '--watch-events',
    String(kEvents),
    '--then-invoke',
    'check_watch',
  ]);
  // start's result: the bucket is open and watched.
  assert.equal(await run.nextLine(), '0');
  const writer = await loadWatchGuest(server);
  try {
    assert.equal(writer.exports.writeSequence(), 0);
  } finally {
    writer.close();
  }
  const result = await run.exited;
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, '0\n0\n');
});

test('wasikv-run --runtime node watches what the CLI writes', async (t) => {
  const server = await startServerFor(t);
  const run = new RunningCommand(requiredEnv('WASIKV_RUN'), [
    '--runtime',
    'node',
    '--endpoint',
    server.endpoint,
    '--invoke',
    'start',
    '--watch-events',
    String(kEvents),
    '--then-invoke',
    'check-watch',
    componentPath('watch_guest'),
  ]);
  assert.equal(await run.nextLine(), '0');
  await writeSequenceWithCli(server);
  const result = await run.exited;
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, '0\n0\n');
});

test('a component that falls behind loses nothing', async (t) => {
  const server = await startServerFor(t);
  // With room for 8 events, the feed pauses and resumes the stream many times, and the JS side
  // drains in batches.
  const watcher = await loadWatchGuest(server, { watch: { maxQueuedEvents: 8 } });
  t.after(() => watcher.close());
  assert.equal(watcher.exports.start(), 0);
  // 150 writes through the instance's own session, all made before any is delivered.
  const { session } = watcher;
  const bucket = session.open('watched');
  const kWrites = 150;
  for (let i = 0; i < kWrites; ++i) session.set(bucket, `k${i}`, new Uint8Array([0x76]));
  session.dropBucket(bucket);
  assert.equal(await watcher.watchDelivered(kWrites, kTimeoutMs), kWrites);
  assert.equal(watcher.exports.eventCount(), kWrites);
});

test('watching does not keep Node alive', async (t) => {
  const server = await startServerFor(t);
  // A script that watches and returns without closing: Node must exit on its own.
  const script = `
    const { loadComponent } = await import(process.argv[1]);
    const watcher = await loadComponent(process.argv[2], { endpoint: process.argv[3], watch: true });
    console.log(watcher.exports.start());
  `;
  const runner = new URL('../../../adapter/node/lib/run_component.mjs', import.meta.url).href;
  const node = new RunningCommand(process.execPath, [
    '--input-type=module',
    '-e',
    script,
    runner,
    componentPath('watch_guest'),
    server.endpoint,
  ]);
  const result = await node.exited;
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, '0\n');
});

test('a trap in a handler stops delivery and is reported', async (t) => {
  const server = await startServerFor(t);
  const errors = [];
  const watcher = await loadWatchGuest(server, {
    watch: true,
    onWatchError: (error) => errors.push(error),
  });
  t.after(() => watcher.close());
  assert.equal(watcher.exports.start(), 0);
  // The guest's log holds 8 KiB; a longer value traps its on-set.
  await server.set('watched', 'big', 'x'.repeat(9000));
  await assert.rejects(watcher.watchDelivered(1, kTimeoutMs), { code: 'ERR_WASIKV_WATCH_TRAP' });
  assert.equal(errors.length, 1);
  assert.match(errors[0].message, /watch handler for 'big' in bucket 'watched'/);
  // Delivery is over: later changes are not waited for.
  await assert.rejects(watcher.watchDelivered(2, kTimeoutMs), { code: 'ERR_WASIKV_WATCH_TRAP' });
});

test('an event over the per-call limit stops delivery', async (t) => {
  const server = await startServerFor(t);
  const errors = [];
  // testHostOptions allows 64 KiB per call, as the core binding would lower into the guest.
  const watcher = await loadWatchGuest(server, {
    watch: true,
    onWatchError: (error) => errors.push(error),
  });
  t.after(() => watcher.close());
  assert.equal(watcher.exports.start(), 0);
  await server.set('watched', 'huge', 'x'.repeat(100 << 10));
  await assert.rejects(watcher.watchDelivered(1, kTimeoutMs), { code: 'RESOURCE_EXHAUSTED' });
  assert.match(errors[0].message, /max_call_allocation_bytes/);
  assert.equal(watcher.exports.eventCount(), 0);
});

test('watch needs a component that exports a watcher', async (t) => {
  const server = await startServerFor(t);
  await assert.rejects(
    loadComponent(componentPath('draft_guest'), { ...testHostOptions(server), watch: true }),
    (error) =>
      error.code === 'ERR_WASIKV_LOAD' && /wasi:keyvalue\/watcher@0\.2\.0-draft/.test(error.message),
  );
});
