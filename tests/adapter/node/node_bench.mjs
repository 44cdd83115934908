// node_bench: what a component on Node pays per wasi:keyvalue call, next to
// the same call made directly through the adapter's N-API addon in the same
// run (the floor: the Session call with no wasm in between). One call in
// flight, as a guest makes them; best of 3 rounds. Prints numbers and
// asserts nothing. The core-wasm runtimes' numbers come from adapter_bench.
//
//   WASIKVD=... WASIKV_TEST_COMPONENT_DIR=... WASIKV_NODE_ADDON=... \
//     node tests/adapter/node/node_bench.mjs [--ops N]
import { loadAddon } from '../../../adapter/node/lib/addon.mjs';
import { loadComponent } from '../../../adapter/node/lib/run_component.mjs';
import { componentPath } from './guest_components.mjs';
import { startServer } from './wasikv_server.mjs';

const opsFlag = process.argv.indexOf('--ops');
const ops = opsFlag > 0 ? Number(process.argv[opsFlag + 1]) : 5000;

function timeOnce(run) {
  const cpuBefore = process.cpuUsage();
  const start = process.hrtime.bigint();
  run();
  const micros = Number(process.hrtime.bigint() - start) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return { latency: micros / ops, cpu: (cpu.user + cpu.system) / ops };
}

function best(run) {
  let result = timeOnce(run);
  for (let round = 1; round < 3; ++round) {
    const next = timeOnce(run);
    result = { latency: Math.min(result.latency, next.latency), cpu: Math.min(result.cpu, next.cpu) };
  }
  return result;
}

function row(what, cost, floor) {
  const ratio = (a, b) => `${(a / b).toFixed(2)}x`.padStart(7);
  console.log(
    `  ${what.padEnd(24)} ${cost.latency.toFixed(1).padStart(9)} us/op ${ratio(cost.latency, floor.latency)}` +
      `   cpu ${cost.cpu.toFixed(1).padStart(7)} us/op ${ratio(cost.cpu, floor.cpu)}`,
  );
}

const server = await startServer();
try {
  const options = { endpoint: server.endpoint, defaultBucket: 'bench' };
  const { Host, Session } = loadAddon();
  const session = new Session(new Host(options));
  const bucket = session.open('bench');
  const value = new Uint8Array(100).fill(118);
  session.set(bucket, 'bench-key', value);
  const component = await loadComponent(componentPath('bench_guest'), options);

  console.log(`node_bench: ${ops} calls per row (best of 3 rounds), one in flight, ` +
              `wasikvd on loopback (--sync-writes=false), node ${process.version}`);
  const rows = [
    ['get (100 B)', () => session.get(bucket, 'bench-key'), 'getLoop'],
    ['set (100 B)', () => session.set(bucket, 'bench-key', value), 'setLoop'],
    ['open + drop', () => session.dropBucket(session.open('bench')), 'openLoop'],
  ];
  for (const [name, direct, loop] of rows) {
    console.log(name);
    const floor = best(() => {
      for (let i = 0; i < ops; ++i) direct();
    });
    row('addon (floor)', floor, floor);
    let failed = false;
    const guest = best(() => {
      failed ||= component.exports[loop](ops) !== 0;
    });
    row('component on node', guest, floor);
    if (failed) console.log('  (the guest reported a failed call: the numbers above are not valid)');
  }
  component.close();
  session.close();
} finally {
  await server.stop();
}
