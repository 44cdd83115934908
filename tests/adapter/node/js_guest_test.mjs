// The JavaScript guest (tests/adapter/guests/js/checks.js, built with componentize-js) runs the
// C draft2 guest's checks on Node against a real wasikvd. Its engine imports WASI besides
// wasi:keyvalue, which the runner provides.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assertCheckPasses, callExport } from './guest_components.mjs';
import { startServerFor } from './wasikv_server.mjs';

test('js: Spin conformance', async (t) => {
  const server = await startServerFor(t);
  await assertCheckPasses(server, 'js_guest', 'check-spin');
  assert.equal(await server.get('default', 'bar'), 'zeta');
  assert.equal(await server.get('default', 'counter'), '15');
  assert.equal(await server.get('default', 'sm1'), undefined);
});

test('js: paging', async (t) => {
  const server = await startServerFor(t);
  await assertCheckPasses(server, 'js_guest', 'check-paging');
  assert.equal(await server.get('paging', 'k24'), 'v');
});

test('js: cas on a missing key', async (t) => {
  const server = await startServerFor(t);
  await assertCheckPasses(server, 'js_guest', 'check-cas-missing');
  assert.equal(await server.get('default', 'fresh-key'), '1');
});

test('js: a failed check is reported by number, not as a trap', async (t) => {
  const server = await startServerFor(t);
  // With "forbidden" allowed, the first check of check-spin (open("forbidden") is
  // access-denied) fails.
  const host = { deniedBuckets: [] };
  assert.equal(await callExport(server, 'js_guest', 'check-spin', { host }), 1);
});
