// Guests on different runtimes share one store because they all use the server: the draft
// guest as a component on Node and as a core module on wabt (wasikv-run) see each other's
// writes, and so does the wasikv CLI.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { callExport, coreGuestPath } from './guest_components.mjs';
import { startServerFor } from './wasikv_server.mjs';

// wasikv-run's host: the same setup as the Node runner's in guest_components.mjs.
const kRunHost = ['--deny-bucket', 'forbidden', '--max-call-alloc', '64k'];

async function runOnWabt(server, exportName, args = []) {
  const result = await server.runCore(coreGuestPath('draft_guest'), [
    ...kRunHost,
    '--invoke',
    exportName,
    ...args.flatMap((arg) => ['--arg', String(arg)]),
  ]);
  assert.equal(result.code, 0, `wasikv-run --invoke ${exportName}: ${result.stderr}`);
  return result.stdout.trim();
}

test('a write on Node is seen on wabt and by the CLI', async (t) => {
  const server = await startServerFor(t);
  assert.equal(await callExport(server, 'draft_guest', 'interop-write', { args: [41] }), 0);
  assert.equal(await runOnWabt(server, 'interop_read'), '41');
  assert.equal(await server.get('default', 'interop'), '41');
});

test('a write on wabt is seen on Node', async (t) => {
  const server = await startServerFor(t);
  assert.equal(await runOnWabt(server, 'interop_write', [42]), '0');
  assert.equal(await callExport(server, 'draft_guest', 'interop-read'), 42);
});

test('the CLI, Node and wabt agree on one key', async (t) => {
  const server = await startServerFor(t);
  await server.set('default', 'interop', '7');
  assert.equal(await callExport(server, 'draft_guest', 'interop-read'), 7);
  assert.equal(await runOnWabt(server, 'interop_read'), '7');
  const deleted = await server.cli(['del', 'default', 'interop']);
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.equal(await callExport(server, 'draft_guest', 'interop-read'), -1);
  assert.equal(await runOnWabt(server, 'interop_read'), '-1');
});
