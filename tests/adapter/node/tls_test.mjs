// The Node host over TLS and mutual TLS: the addon's Host option tls { ca, cert, key, serverName }
// (PEM text) for a component, the same refused where it would not do what it says, and
// `wasikv-run --runtime node` with the --tls-* flags and WASIKV_TLS_* variables, against a real
// wasikvd with a client CA. The certificates are made here with the openssl command.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { loadAddon } from '../../../adapter/node/lib/addon.mjs';
import { callExport, coreGuestPath } from './guest_components.mjs';
import { requiredEnv, runCommand, startServerFor } from './wasikv_server.mjs';

function openssl(args) {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

// A CA, a server certificate for 127.0.0.1/localhost and a client certificate, in a directory
// removed when `t` ends: { dir, file(name), pem(name) }.
function makePki(t) {
  const dir = mkdtempSync(join(tmpdir(), 'wasikv-node-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name) => join(dir, name);
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(['req', '-x509', ...newKey, '-keyout', file('ca.key'), '-out', file('ca.pem'),
    '-days', '30', '-subj', '/CN=wasikv node test CA']);
  for (const [name, serial, san] of [
    ['server', '1', 'IP:127.0.0.1,DNS:localhost'],
    ['client', '2', 'DNS:node-guest'],
  ]) {
    writeFileSync(file(`${name}.ext`), `subjectAltName=${san}\n`);
    openssl(['req', '-new', ...newKey, '-keyout', file(`${name}.key`), '-out',
      file(`${name}.csr`), '-subj', `/CN=${name}`]);
    openssl(['x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.pem'), '-CAkey',
      file('ca.key'), '-set_serial', serial, '-days', '30', '-extfile', file(`${name}.ext`),
      '-out', file(`${name}.pem`)]);
  }
  return { dir, file, pem: (name) => readFileSync(file(name), 'utf8') };
}

// A wasikvd that requires client certificates of the PKI's CA.
function startMutualTlsServer(t, pki) {
  return startServerFor(t, [
    '--tls-cert-file', pki.file('server.pem'),
    '--tls-key-file', pki.file('server.key'),
    '--tls-client-ca-file', pki.file('ca.pem'),
  ]);
}

test('a component reaches a mutual-TLS wasikvd through the Host option tls', async (t) => {
  const pki = makePki(t);
  const server = await startMutualTlsServer(t, pki);
  const tls = { ca: pki.pem('ca.pem'), cert: pki.pem('client.pem'), key: pki.pem('client.key') };
  assert.equal(await callExport(server, 'draft_guest', 'interop-write', { args: [41], host: { tls } }), 0);
  assert.equal(await callExport(server, 'draft_guest', 'interop-read', { host: { tls } }), 41);
  // serverName: the name checked in the server's certificate.
  const named = { ...tls, serverName: 'localhost' };
  assert.equal(await callExport(server, 'draft_guest', 'interop-read', { host: { tls: named } }), 41);
});

test('without a client certificate the mutual-TLS wasikvd refuses the calls', async (t) => {
  const pki = makePki(t);
  const server = await startMutualTlsServer(t, pki);
  const { Host, Session } = loadAddon();
  const session = new Session(
    new Host({ endpoint: server.endpoint, timeoutMs: 5000, tls: { ca: pki.pem('ca.pem') } }),
  );
  t.after(() => session.close());
  assert.throws(() => session.get(session.open('default'), 'k'), /UNAVAILABLE/);
});

test('the tls option takes PEM text, not paths, and the key goes with the certificate', (t) => {
  const pki = makePki(t);
  const { Host } = loadAddon();
  assert.throws(() => new Host({ tls: { ca: pki.file('ca.pem') } }), {
    name: 'TypeError',
    message: /options\.tls\.ca must be PEM text .*not a file path/,
  });
  assert.throws(() => new Host({ tls: { cert: pki.pem('client.pem') } }), {
    name: 'TypeError',
    message: /options\.tls\.cert and options\.tls\.key go together/,
  });
  assert.throws(() => new Host({ tls: 'yes' }), { name: 'TypeError', message: /options\.tls/ });
  // {} is TLS with the system's CAs; null is plaintext.
  new Host({ tls: {} });
  new Host({ tls: null });
});

test('wasikv-run --runtime node takes the --tls-* flags and WASIKV_TLS_* variables', async (t) => {
  const pki = makePki(t);
  const server = await startMutualTlsServer(t, pki);
  const run = requiredEnv('WASIKV_RUN');
  const guest = coreGuestPath('draft_guest');
  const write = await runCommand(run, [
    '--runtime', 'node', '--endpoint', server.endpoint,
    '--tls-ca', pki.file('ca.pem'), '--tls-cert', pki.file('client.pem'),
    '--tls-key', pki.file('client.key'),
    '--invoke', 'interop_write', '--arg', '42', guest,
  ]);
  assert.equal(write.code, 0, write.stderr);
  assert.equal(write.stdout, '0\n');

  const read = await runCommand('/usr/bin/env', [
    `WASIKV_ENDPOINT=${server.endpoint}`,
    `WASIKV_TLS_CA=${pki.file('ca.pem')}`,
    `WASIKV_TLS_CERT=${pki.file('client.pem')}`,
    `WASIKV_TLS_KEY=${pki.file('client.key')}`,
    run, '--runtime', 'node', '--invoke', 'interop_read', guest,
  ]);
  assert.equal(read.code, 0, read.stderr);
  assert.equal(read.stdout, '42\n');

  const missing = join(pki.dir, 'missing.pem');
  const unreadable = await runCommand(run, ['--runtime', 'node', '--tls-ca', missing, guest]);
  assert.equal(unreadable.code, 2);
  assert.match(unreadable.stderr, new RegExp(`--tls-ca ${missing}: cannot read`));
});
