// A real wasikvd for one test, and the command-line tools that talk to it as third parties: the
// `wasikv` CLI (presets and checks values) and `wasikv-run` (runs a core guest on wabt). The
// binaries come from the environment CMake sets: WASIKVD, WASIKV_CLI, WASIKV_RUN.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Every wait on a process has a deadline.
const kStartTimeoutMs = 60_000;
const kCommandTimeoutMs = 60_000;

export function requiredEnv(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set (ctest sets it: tests/adapter/node/CMakeLists.txt)`);
  }
  return value;
}

// Runs `file` with `args`; resolves to { code, stdout, stderr } whatever the exit code.
export function runCommand(file, args, { input } = {}) {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { encoding: 'utf8', timeout: kCommandTimeoutMs, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(new Error(`${file} ${args.join(' ')}: ${error.message}\n${stderr}`));
          return;
        }
        resolve({ code: error ? error.code : 0, stdout, stderr });
      },
    );
    child.stdin.end(input ?? '');
  });
}

// A command running in the background, its stdout read line by line as it comes (for a command
// that says when it is ready, as wasikv-run does by printing its export's results).
export class RunningCommand {
  #child;
  #stdout = '';
  #stderr = '';
  #read = 0;
  #closed = false;
  #lineWaiter;

  // Starts `file` with `args`; it is killed after kCommandTimeoutMs, or when this process exits.
  constructor(file, args) {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      this.#stdout += chunk;
      this.#wakeLineWaiter();
    });
    child.stderr.on('data', (chunk) => {
      this.#stderr += chunk;
    });
    const kill = () => child.kill('SIGKILL');
    process.on('exit', kill);
    const timer = setTimeout(kill, kCommandTimeoutMs);
    // { code, signal, stdout, stderr }: all of stdout, once the command exited and closed it.
    this.exited = new Promise((resolve, reject) => {
      child.on('error', (error) => reject(new Error(`${file}: ${error.message}`)));
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        process.off('exit', kill);
        this.#closed = true;
        this.#wakeLineWaiter();
        resolve({ code, signal, stdout: this.#stdout, stderr: this.#stderr });
      });
    });
  }

  // The next line of stdout, without its newline; rejects if the command ends first.
  nextLine() {
    return new Promise((resolve, reject) => {
      this.#lineWaiter = { resolve, reject };
      this.#wakeLineWaiter();
    });
  }

  #wakeLineWaiter() {
    const waiter = this.#lineWaiter;
    if (waiter === undefined) return;
    const end = this.#stdout.indexOf('\n', this.#read);
    if (end >= 0) {
      this.#lineWaiter = undefined;
      waiter.resolve(this.#stdout.slice(this.#read, end));
      this.#read = end + 1;
    } else if (this.#closed) {
      this.#lineWaiter = undefined;
      waiter.reject(new Error(`the command ended before printing a line:\n${this.#stderr}`));
    }
  }
}

// Starts wasikvd on 127.0.0.1:0 with a fresh data directory and `extraArgs` (e.g. the --tls-*
// flags), and waits for the address it writes to fd 3 once it serves.
export async function startServer(extraArgs = []) {
  const dataDir = await mkdtemp(join(tmpdir(), 'wasikv-node-test-'));
  const child = spawn(
    requiredEnv('WASIKVD'),
    [
      '--listen=127.0.0.1:0',
      '--admin-listen=off',
      '--data-dir',
      dataDir,
      '--ready-fd=3',
      '--sync-writes=false',
      ...extraArgs,
    ],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    log += chunk;
  });
  // The test process must not leave its server behind, however it ends.
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);

  let endpoint;
  try {
    endpoint = await new Promise((resolve, reject) => {
      let line = '';
      let timer;
      const fail = (why) => {
        clearTimeout(timer);
        reject(new Error(`wasikvd did not start: ${why}\n${log}`));
      };
      timer = setTimeout(() => fail('no address in time'), kStartTimeoutMs);
      child.on('error', (error) => fail(error.message));
      child.on('exit', (code, signal) => fail(`exited with ${signal ?? code}`));
      child.stdio[3].setEncoding('utf8');
      child.stdio[3].on('data', (chunk) => {
        line += chunk;
        const end = line.indexOf('\n');
        if (end >= 0) {
          clearTimeout(timer);
          resolve(line.slice(0, end));
        }
      });
      child.stdio[3].on('end', () => fail('fd 3 closed before an address'));
    });
  } catch (error) {
    child.kill('SIGKILL');
    process.off('exit', killOnExit);
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  child.removeAllListeners('exit');

  return new WasikvServer(child, endpoint, dataDir, killOnExit);
}

// startServer(extraArgs) for the test `t`, stopped when `t` ends.
export async function startServerFor(t, extraArgs = []) {
  const server = await startServer(extraArgs);
  t.after(() => server.stop());
  return server;
}

class WasikvServer {
  #child;
  #dataDir;
  #killOnExit;

  constructor(child, endpoint, dataDir, killOnExit) {
    this.#child = child;
    this.endpoint = endpoint;
    this.#dataDir = dataDir;
    this.#killOnExit = killOnExit;
  }

  // `wasikv --endpoint ENDPOINT ARGS...`: { code, stdout, stderr }.
  cli(args, options = {}) {
    return runCommand(requiredEnv('WASIKV_CLI'), ['--endpoint', this.endpoint, ...args], options);
  }

  // Writes `value` (a string, any size) to bucket/key through the CLI, as a third party.
  async set(bucket, key, value) {
    const result = await this.cli(['set', bucket, key, '-'], { input: value });
    if (result.code !== 0) throw new Error(`wasikv set ${bucket} ${key}: ${result.stderr}`);
  }

  // The value of bucket/key through the CLI, or undefined when it is missing.
  async get(bucket, key) {
    const result = await this.cli(['get', bucket, key]);
    if (result.code === 1) return undefined;
    if (result.code !== 0) throw new Error(`wasikv get ${bucket} ${key}: ${result.stderr}`);
    return result.stdout;
  }

  // `wasikv-run --endpoint ENDPOINT ARGS... GUEST`: { code, stdout, stderr }.
  runCore(guestPath, args) {
    return runCommand(requiredEnv('WASIKV_RUN'), ['--endpoint', this.endpoint, ...args, guestPath]);
  }

  // runCore in the background: a RunningCommand.
  startCore(guestPath, args) {
    return new RunningCommand(requiredEnv('WASIKV_RUN'), [
      '--endpoint',
      this.endpoint,
      ...args,
      guestPath,
    ]);
  }

  // SIGTERM, then the exit (wasikvd drains and closes the store), then the data directory.
  async stop() {
    const child = this.#child;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), kStartTimeoutMs);
      await exited;
      clearTimeout(timer);
    }
    process.off('exit', this.#killOnExit);
    await rm(this.#dataDir, { recursive: true, force: true });
  }
}
