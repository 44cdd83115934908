// Runs the test guests' components on Node through the adapter's runner
// (adapter/node/lib/run_component.mjs), with the host setup the guests' checks assume: the same
// as tests/adapter/guest_checks_test.cc's MakeHost.
import assert from 'node:assert/strict';
import { join } from 'node:path';

import { jsName, loadComponent } from '../../../adapter/node/lib/run_component.mjs';
import { requiredEnv } from './wasikv_server.mjs';

// The built component `name` (draft_guest, draft2_guest, js_guest).
export function componentPath(name) {
  return join(requiredEnv('WASIKV_TEST_COMPONENT_DIR'), `${name}.component.wasm`);
}

// The core module `name` as wabt and wasm2c run it.
export function coreGuestPath(name) {
  return join(requiredEnv('WASIKV_TEST_GUEST_DIR'), `${name}.wasm`);
}

// "forbidden" refused, pages of 10 keys, 64 KiB of results per call.
export function testHostOptions(server, overrides = {}) {
  return {
    endpoint: server.endpoint,
    defaultBucket: 'default',
    deniedBuckets: ['forbidden'],
    listKeysPageSize: 10,
    maxCallAllocationBytes: 64 << 10,
    ...overrides,
  };
}

// Loads component `name` against `server` and calls its export `witName` with `args` in a fresh
// instance; the export's result.
export async function callExport(server, name, witName, { args = [], host = {} } = {}) {
  const component = await loadComponent(componentPath(name), testHostOptions(server, host));
  try {
    const fn = component.exports[jsName(witName)];
    if (typeof fn !== 'function') {
      const names = Object.keys(component.exports).join(', ');
      throw new Error(`${name} exports no ${witName}, only ${names}`);
    }
    return await fn(...args);
  } finally {
    component.close();
  }
}

// Check `witName` of component `name` returns 0. A check returns the number of the first
// assertion that failed (the C guests: the line of their source): say where to look.
export async function assertCheckPasses(server, name, witName, host = {}) {
  const source = name === 'js_guest' ? 'guests/js/checks.js' : `guests/${name}.c`;
  assert.equal(
    await callExport(server, name, witName, { host }),
    0,
    `${name} ${witName} failed at the check numbered above (tests/adapter/${source})`,
  );
}
