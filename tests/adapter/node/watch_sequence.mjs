// The writes the watch guests' check_watch expects (tests/adapter/guests/watch_log.h), made by
// the wasikv CLI, shared by the watch tests: 4 sets and 2 deletes in bucket "watched", and one
// write to "other", which is not watched.
import assert from 'node:assert/strict';

export const kEvents = 6;
export const kTimeoutMs = 30_000;

export async function writeSequenceWithCli(server) {
  const steps = [
    ['set', 'watched', 'w1', 'v1'],
    ['set', 'other', 'ignored', 'x'],
    ['set', 'watched', 'w2', 'v2'],
    ['del', 'watched', 'w1'],
    ['set', 'watched', 'w2', 'v2b'],
    ['set', 'watched', 'w3', 'v3'],
    ['del', 'watched', 'w3'],
  ];
  for (const step of steps) {
    const result = await server.cli(step);
    assert.equal(result.code, 0, `wasikv ${step.join(' ')}: ${result.stderr}`);
  }
}
