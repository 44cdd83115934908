#!/usr/bin/env node
// Makes package-lock.json acceptable to `npm ci` when the registry lacks
// some platform-only optional packages.
//
// Run after every `npm install` that rewrites the lock:
//   node tools/lock-platform-stubs.mjs      (in adapter/node)
//
// Why: jco's dependencies list native bindings for every platform as
// optionalDependencies (rolldown, componentize-qjs, jco-node-fs). When the
// registry npm talks to has no copy of one of them at the pinned version,
// `npm install` leaves it out of the lock, and `npm ci` then refuses the
// lock ("Missing: @rolldown/binding-darwin-x64@ from lock file"). This adds
// each missing one as an optional entry with the os/cpu/libc its name
// states and no download address: npm skips it on every other platform, and
// on its own platform tries the registry and, being optional, goes on
// without it. Anything missing that is not a platform binding is an error.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const lockPath = join(packageDir, 'package-lock.json');

const OS = ['aix', 'android', 'darwin', 'freebsd', 'linux', 'netbsd', 'openbsd', 'openharmony', 'sunos', 'win32'];
const CPU = ['arm', 'arm64', 'ia32', 'loong64', 'mips64el', 'ppc64', 'riscv64', 's390x', 'wasm32', 'x64'];
const LIBC = { gnu: 'glibc', gnueabihf: 'glibc', musl: 'musl', musleabihf: 'musl' };

function missingFromLock() {
  let output;
  try {
    output = execFileSync('npm', ['ci', '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: packageDir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    output = `${error.stdout ?? ''}${error.stderr ?? ''}`;
  }
  return [...output.matchAll(/Missing: (\S+?)@\S* from lock file/g)].map((match) => match[1]);
}

// { os, cpu, libc } from a binding's name, e.g. binding-linux-x64-musl.
function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  const os = parts.filter((part) => OS.includes(part));
  const cpu = parts.filter((part) => CPU.includes(part));
  const libc = parts.map((part) => LIBC[part]).filter(Boolean);
  if (cpu.length !== 1 || os.length > 1) return undefined;
  return { os, cpu, libc };
}

const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
const missing = missingFromLock();
if (missing.length === 0) {
  console.log('package-lock.json: nothing missing');
  process.exit(0);
}
for (const name of missing) {
  const parent = Object.entries(lock.packages).find(
    ([, entry]) => entry.optionalDependencies?.[name] !== undefined,
  );
  const platform = platformOf(name);
  const version = parent?.[1].optionalDependencies[name];
  if (!parent || !platform || !/^\d+\.\d+\.\d+$/.test(version)) {
    console.error(`${name} is missing from the lock and is not a pinned platform binding`);
    process.exit(1);
  }
  const entry = { version, optional: true, cpu: platform.cpu };
  if (platform.os.length > 0) entry.os = platform.os;
  if (platform.libc.length > 0) entry.libc = platform.libc;
  lock.packages[`node_modules/${name}`] = entry;
  console.log(`added ${name}@${version} (${[...entry.os ?? [], ...entry.cpu, ...entry.libc ?? []].join(' ')})`);
}
// In npm's own order, so its next rewrite of the lock moves nothing else.
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => a.localeCompare(b, 'en')),
);
writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
const left = missingFromLock();
if (left.length > 0) {
  console.error(`still missing: ${left.join(', ')}`);
  process.exit(1);
}
