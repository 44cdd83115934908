// Core modules on Node's V8 (adapter/node/lib/run_core_module.mjs, the addon's CoreModuleGuest):
// the C test guests as the same .wasm files wabt and wasm2c run, with the same host setup, against
// a real wasikvd. The seed 001 guest (u32 handles: no component can have its world) and its
// handle-watch run here too, and the hostile guest's acts trap with the adapter's messages.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { loadCoreModule } from '../../../adapter/node/lib/run_core_module.mjs';
import { coreGuestPath, testHostOptions } from './guest_components.mjs';
import { RunningCommand, requiredEnv, startServerFor } from './wasikv_server.mjs';
import { kEvents, kTimeoutMs, writeSequenceWithCli } from './watch_sequence.mjs';


async function loadGuest(t, server, name, options = {}) {
  const guest = await loadCoreModule(coreGuestPath(name), {
    ...testHostOptions(server),
    ...options,
  });
  t.after(() => guest.close());
  return guest;
}

test('seed 001: check_seed on V8', async (t) => {
  const server = await startServerFor(t);
  const guest = await loadGuest(t, server, 'seed_guest');
  assert.equal(guest.exports.check_seed(), 0, 'failed at the line above (guests/seed_guest.c)');
  assert.equal(guest.openHandles(), 0);
  assert.equal(await server.get('seed', 'k2'), 'parts');
});

test('draft: check_wasmtime on V8', async (t) => {
  const server = await startServerFor(t);
  // wasmtime's host presets atomics_key = 5 in the bucket open("") gives.
  await server.set('wasmtime', 'atomics_key', '5');
  const guest = await loadGuest(t, server, 'draft_guest', { defaultBucket: 'wasmtime' });
  assert.equal(guest.exports.check_wasmtime(), 0, 'failed at the line above (guests/draft_guest.c)');
  assert.equal(await server.get('wasmtime', 'atomics_key'), '6');
  assert.equal(await server.get('wasmtime', 'b1'), 'v1');
});

test('seed 001: handle-watch delivers what the CLI writes', async (t) => {
  const server = await startServerFor(t);
  const guest = await loadGuest(t, server, 'seed_guest', { watch: true });
  assert.deepEqual(guest.guest.watchHandlers, {
    onSet: 'wasi:keyvalue/handle-watch#on-set',
    onDelete: 'wasi:keyvalue/handle-watch#on-delete',
    seed: true,
  });
  // start_watch opens "watched": every write to it from now on reaches the handlers.
  assert.equal(guest.exports.start_watch(), 0);
  await writeSequenceWithCli(server);
  assert.equal(await guest.watchDelivered(kEvents, kTimeoutMs), kEvents);
  assert.equal(guest.exports.check_watch(), 0, 'the log differs (tests/adapter/guests/watch_log.h)');
  // The handlers dropped every bucket and incoming value they were given.
  assert.equal(guest.openHandles(), 0);
});

test('draft: the watcher export on V8', async (t) => {
  const server = await startServerFor(t);
  const guest = await loadGuest(t, server, 'watch_guest', { watch: { maxQueuedEvents: 4 } });
  assert.equal(guest.exports.start(), 0);
  await writeSequenceWithCli(server);
  assert.equal(await guest.watchDelivered(kEvents, kTimeoutMs), kEvents);
  assert.equal(guest.exports.check_watch(), 0, 'the log differs (tests/adapter/guests/watch_log.h)');
  assert.equal(guest.openHandles(), 0);
});

test('watch needs a module that exports handlers', async (t) => {
  const server = await startServerFor(t);
  await assert.rejects(
    loadCoreModule(coreGuestPath('draft_guest'), { ...testHostOptions(server), watch: true }),
    (error) => error.code === 'ERR_WASIKV_LOAD' && /watch handlers/.test(error.message),
  );
});

test('an import the adapter does not provide is a load error naming it', async (t) => {
  const server = await startServerFor(t);
  await assert.rejects(
    loadCoreModule(coreGuestPath('foreign_import_guest'), testHostOptions(server)),
    (error) => error.code === 'ERR_WASIKV_LOAD' && /guest imports \S+\.\S+/.test(error.message),
  );
});

for (const name of ['hostile_guest', 'hostile_guest_cm32p2']) {
  test(`${name}: the adapter traps hostile acts on V8`, async (t) => {
    const server = await startServerFor(t);
    const acts = [
      ['oob_key_ptr', /outside the guest's/],
      ['double_drop', /not open/],
    ];
    for (const [act, says] of acts) {
      const guest = await loadGuest(t, server, name);
      assert.throws(() => guest.exports[act](), (error) => {
        assert.equal(error.code, 'ERR_WASIKV_TRAP', `${act}: ${error.stack}`);
        assert.match(error.message, says, act);
        return true;
      });
      // The guest is dead: its imports keep refusing.
      assert.throws(() => guest.exports.healthy(), { code: 'ERR_WASIKV_TRAP' });
      guest.close();
    }
    const fresh = await loadGuest(t, server, name);
    assert.equal(fresh.exports.healthy(), 0);
    assert.equal(await server.get('hostile', 'canary'), undefined);
    assert.equal(await server.get('default', 'canary'), 'alive');
  });
}

test('wasikv-run --runtime node runs a core module and watches', async (t) => {
  const server = await startServerFor(t);
  const run = new RunningCommand(requiredEnv('WASIKV_RUN'), [
    '--runtime',
    'node',
    '--endpoint',
    server.endpoint,
    '--invoke',
    'start_watch',
    '--watch-events',
    String(kEvents),
    '--then-invoke',
    'check_watch',
    coreGuestPath('seed_guest'),
  ]);
  assert.equal(await run.nextLine(), '0');
  await writeSequenceWithCli(server);
  const result = await run.exited;
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, '0\n0\n');
});
