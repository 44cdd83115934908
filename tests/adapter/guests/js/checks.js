// JavaScript test guest for wasi:keyvalue@0.2.0-draft2: the C draft2 guest's check_spin,
// check_paging and check_cas_missing (../draft2_guest.c), through the bindings componentize-js
// generates, world js-guest in ../../wit/guests.wit. Built by ../../node/make_js_component.mjs.
//
// Each export returns 0 when every check held, otherwise the number of the first check that
// failed, counted from 1 within that export; it also prints which one and why to stderr.
//
// The bindings' conventions: an `err` result is thrown, the error variant in its `payload`
// ({ tag: 'access-denied' }, { tag: 'other', val: message }); option<T> is T or undefined;
// list<u8> is a Uint8Array; s64 is a BigInt; a resource handle is released with its
// [Symbol.dispose] method.
import { open } from 'wasi:keyvalue/store@0.2.0-draft2';
import { Cas, increment, swap } from 'wasi:keyvalue/atomics@0.2.0-draft2';
import { getMany, setMany, deleteMany } from 'wasi:keyvalue/batch@0.2.0-draft2';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const bytes = (text) => encoder.encode(text);

class CheckFailed extends Error {
  constructor(number, message) {
    super(message);
    this.number = number;
  }
}

// A value as comparable text: bytes as their UTF-8 text, BigInts as 15n. The bindings' byte lists
// are Uint8Arrays of another global, so not `instanceof Uint8Array` here.
const shown = (value) =>
  JSON.stringify(value ?? null, (_, v) => {
    if (ArrayBuffer.isView(v)) return decoder.decode(v);
    return typeof v === 'bigint' ? `${v}n` : v;
  });

function describe(thrown) {
  if (thrown && typeof thrown === 'object' && 'payload' in thrown) {
    return `error result ${shown(thrown.payload)}`;
  }
  return String(thrown);
}

// Counts the checks of one export; the first that fails ends it with its number.
class Checks {
  #count = 0;

  // `condition` must hold.
  that(condition, what) {
    this.#count += 1;
    if (!condition) throw new CheckFailed(this.#count, what);
  }

  // `call()` must return (an ok result): its value.
  ok(call, what) {
    this.#count += 1;
    try {
      return call();
    } catch (thrown) {
      throw new CheckFailed(this.#count, `${what}: ${describe(thrown)}`);
    }
  }

  // `call()` must return `expected` (bytes compare as text): one check.
  returns(call, expected, what) {
    const actual = this.ok(call, what);
    if (shown(actual) !== shown(expected)) {
      throw new CheckFailed(this.#count, `${what}: ${shown(actual)}, expected ${shown(expected)}`);
    }
    return actual;
  }

  // `call()` must fail with error `tag`: its payload.
  fails(call, tag, what) {
    this.#count += 1;
    let result;
    try {
      result = call();
    } catch (thrown) {
      if (thrown?.payload?.tag === tag) return thrown.payload;
      throw new CheckFailed(this.#count, `${what}: expected ${tag}, got ${describe(thrown)}`);
    }
    throw new CheckFailed(this.#count, `${what}: expected ${tag}, got ok ${shown(result)}`);
  }

  // The number the next failure of an unexpected kind is charged to.
  get next() {
    return this.#count + 1;
  }
}

function run(name, body) {
  const checks = new Checks();
  try {
    body(checks);
    return 0;
  } catch (thrown) {
    const number = thrown instanceof CheckFailed ? thrown.number : checks.next;
    console.error(`js-guest ${name}: check ${number} failed: ${thrown?.message ?? thrown}`);
    return number;
  }
}

// Spin's draft2 conformance component; the test makes "default" a fresh bucket.
export function checkSpin() {
  return run('check-spin', (check) => {
    check.fails(() => open('forbidden'), 'access-denied', 'open("forbidden")');
    const bucket = check.ok(() => open('default'), 'open("default")');

    // Deleting a missing key succeeds, twice.
    check.ok(() => bucket.delete('bar'), 'delete missing bar');
    check.ok(() => bucket.delete('bar'), 'delete missing bar again');
    check.returns(() => bucket.exists('bar'), false, 'exists bar');
    check.returns(() => bucket.get('bar'), undefined, 'get bar');
    check.returns(() => bucket.listKeys(undefined), { keys: [] }, 'list-keys');

    check.ok(() => bucket.set('bar', bytes('alpha')), 'set bar alpha');
    check.ok(() => bucket.set('bar', bytes('beta')), 'set bar beta');
    check.returns(() => bucket.get('bar'), 'beta', 'get bar');
    check.returns(() => bucket.listKeys(undefined), { keys: ['bar'] }, 'list-keys');

    check.returns(() => increment(bucket, 'counter', 10n), 10n, 'increment counter by 10');
    check.returns(() => increment(bucket, 'counter', 5n), 15n, 'increment counter by 5');
    check.returns(() => bucket.get('counter'), '15', 'get counter');

    let cas = check.ok(() => Cas.new(bucket, 'bar'), 'cas.new bar');
    check.returns(() => cas.current(), 'beta', 'cas.current');
    check.ok(() => swap(cas, bytes('gamma')), 'swap to gamma');
    check.returns(() => bucket.get('bar'), 'gamma', 'get bar');

    // A write between current() and swap makes the swap fail with a fresh cas that sees it.
    cas = check.ok(() => Cas.new(bucket, 'bar'), 'cas.new bar');
    check.returns(() => cas.current(), 'gamma', 'cas.current');
    check.ok(() => bucket.set('bar', bytes('delta')), 'set bar delta');
    cas = check.fails(() => swap(cas, bytes('epsilon')), 'cas-failed', 'swap after a set').val;
    check.returns(() => cas.current(), 'delta', 'cas.current of the fresh cas');
    check.ok(() => swap(cas, bytes('zeta')), 'swap to zeta');
    check.returns(() => bucket.get('bar'), 'zeta', 'get bar');

    check.returns(() => getMany(bucket, ['bar', 'nope']), [['bar', 'zeta'], undefined], 'get-many');
    const keys = ['sm1', 'sm2'];
    check.ok(() => setMany(bucket, [['sm1', bytes('one')], ['sm2', bytes('two')]]), 'set-many');
    check.returns(() => getMany(bucket, keys), [['sm1', 'one'], ['sm2', 'two']], 'get-many');
    check.ok(() => deleteMany(bucket, keys), 'delete-many');
    check.returns(() => getMany(bucket, keys), [undefined, undefined], 'get-many');

    bucket[Symbol.dispose]();
  });
}

// 25 keys through list-keys pages of 10 (the test host's page size): every key exactly once, in
// order, over more than one page, following string cursors.
export function checkPaging() {
  return run('check-paging', (check) => {
    const keyCount = 25;
    const maxPages = 100;
    const key = (i) => `k${String(i).padStart(2, '0')}`;
    const bucket = check.ok(() => open('paging'), 'open("paging")');
    for (let i = 0; i < keyCount; ++i) {
      check.ok(() => bucket.set(key(i), bytes('v')), `set ${key(i)}`);
    }

    const seen = [];
    let pages = 0;
    let cursor;
    do {
      pages += 1;
      check.that(pages <= maxPages, `at most ${maxPages} pages`);
      const page = check.ok(() => bucket.listKeys(cursor), `list-keys page ${pages}`);
      seen.push(...page.keys);
      cursor = page.cursor;
    } while (cursor !== undefined);
    const expected = Array.from({ length: keyCount }, (_, i) => key(i));
    check.that(shown(seen) === shown(expected), `every key once, in order: ${seen.join(',')}`);
    check.that(pages > 1, 'more than one page');

    bucket[Symbol.dispose]();
  });
}

export function checkCasMissing() {
  return run('check-cas-missing', (check) => {
    const bucket = check.ok(() => open(''), 'open("")');
    let cas = check.ok(() => Cas.new(bucket, 'fresh-key'), 'cas.new fresh-key');
    check.returns(() => cas.current(), undefined, 'cas.current of a missing key');
    check.ok(() => swap(cas, bytes('1')), 'swap to 1');
    check.returns(() => bucket.get('fresh-key'), '1', 'get fresh-key');

    // A cas given up without swapping goes through the resource drop.
    cas = check.ok(() => Cas.new(bucket, 'fresh-key'), 'cas.new fresh-key');
    check.returns(() => cas.current(), '1', 'cas.current');
    cas[Symbol.dispose]();

    bucket[Symbol.dispose]();
  });
}
