// The C test guests as components on Node (jco + the adapter's Node host) run the same checks as
// on wabt and wasm2c (tests/adapter/guest_checks_test.cc), with the same host setup, against a
// real wasikvd. The wasikv CLI presets values and reads the guests' writes as a third party.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assertCheckPasses, callExport } from './guest_components.mjs';
import { startServerFor } from './wasikv_server.mjs';

const kBig = 'x'.repeat(100 << 10);

test('draft: wasmtime test program', async (t) => {
  const server = await startServerFor(t);
  // wasmtime's host presets atomics_key = 5 in the bucket open("") gives.
  await server.set('wasmtime', 'atomics_key', '5');
  await assertCheckPasses(server, 'draft_guest', 'check-wasmtime', { defaultBucket: 'wasmtime' });
  // The guest's writes are in the shared store, for any other client.
  assert.equal(await server.get('wasmtime', 'atomics_key'), '6');
  assert.equal(await server.get('wasmtime', 'b1'), 'v1');
  assert.equal(await server.get('wasmtime', 'a1'), undefined);
});

test('draft: paging', async (t) => {
  const server = await startServerFor(t);
  await assertCheckPasses(server, 'draft_guest', 'check-paging');
});

test('draft: errors', async (t) => {
  const server = await startServerFor(t);
  await assertCheckPasses(server, 'draft_guest', 'check-errors');
});

test('draft: an oversize result is an other error', async (t) => {
  const server = await startServerFor(t);
  await server.set('default', 'big', kBig);
  await assertCheckPasses(server, 'draft_guest', 'check-oversize');
});

test('draft2: Spin conformance', async (t) => {
  const server = await startServerFor(t);
  await assertCheckPasses(server, 'draft2_guest', 'check-spin');
  assert.equal(await server.get('default', 'bar'), 'zeta');
  assert.equal(await server.get('default', 'counter'), '15');
});

test('draft2: paging', async (t) => {
  const server = await startServerFor(t);
  await assertCheckPasses(server, 'draft2_guest', 'check-paging');
});

test('draft2: an oversize result is an other error', async (t) => {
  const server = await startServerFor(t);
  await server.set('default', 'big', kBig);
  await assertCheckPasses(server, 'draft2_guest', 'check-oversize');
});

test('draft2: cas on a missing key', async (t) => {
  const server = await startServerFor(t);
  await assertCheckPasses(server, 'draft2_guest', 'check-cas-missing');
  assert.equal(await server.get('default', 'fresh-key'), '1');
});
