// Imports npm packages from the Node host's install (adapter/node/node_modules, made by `npm ci`
// there), so the scripts and tests here use the very jco, componentize-js and preview2-shim the
// host pins. ES module imports ignore NODE_PATH and look only beside the importing file; resolving
// through require() from adapter/node finds its node_modules first and NODE_PATH after that.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const adapterNodeDir = fileURLToPath(new URL('../../../adapter/node/', import.meta.url));

// The conditions an `import` from Node matches in a package's "exports".
const kImportConditions = new Set(['node', 'import', 'default']);

// The target of `subpath` ("." or "./x") in a package's "exports", or undefined.
function exportTarget(exports, subpath) {
  const isSubpathMap =
    exports !== null && typeof exports === 'object' && !Array.isArray(exports) &&
    Object.keys(exports).some((key) => key.startsWith('.'));
  const entry = isSubpathMap ? exports[subpath] : subpath === '.' ? exports : undefined;
  return conditionalTarget(entry);
}

function conditionalTarget(entry) {
  if (typeof entry === 'string') return entry;
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return undefined;
  for (const [condition, value] of Object.entries(entry)) {
    if (!kImportConditions.has(condition)) continue;
    const target = conditionalTarget(value);
    if (target !== undefined) return target;
  }
  return undefined;
}

// require() cannot resolve a package that exports only to `import`: resolve its "exports" with
// the import conditions, from the same node_modules folders require() searches.
function resolveImportOnly(require, specifier) {
  const parts = specifier.split('/');
  const nameLength = specifier.startsWith('@') ? 2 : 1;
  const name = parts.slice(0, nameLength).join('/');
  const subpath = ['.', ...parts.slice(nameLength)].join('/');
  for (const folder of require.resolve.paths(specifier) ?? []) {
    const manifest = join(folder, name, 'package.json');
    if (!existsSync(manifest)) continue;
    const target = exportTarget(JSON.parse(readFileSync(manifest, 'utf8')).exports, subpath);
    if (target === undefined) break;
    return join(folder, name, target);
  }
  throw new Error(`cannot resolve ${specifier} for import`);
}

// The path `specifier` resolves to, as `fromFile` (a path) would resolve it; by default as
// adapter/node does.
export function resolvePackage(specifier, fromFile = join(adapterNodeDir, 'package.json')) {
  const require = createRequire(fromFile);
  try {
    return require.resolve(specifier);
  } catch (error) {
    if (error?.code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw error;
    return resolveImportOnly(require, specifier);
  }
}

// The module `specifier` names, resolved as for resolvePackage.
export async function importPackage(specifier, fromFile = undefined) {
  return import(pathToFileURL(resolvePackage(specifier, fromFile)).href);
}

// jco's wasm-tools and componentize-js's splicer are components run on preview2-shim, whose
// filesystem (since 0.26) gives a guest no directory at all until one is preopened: that is why
// `jco embed --wit DIR` cannot read DIR. Preopens `dir` (absolute) at its own path on the
// preview2-shim instance the module at `packageFile` imports, and nothing else.
export async function preopenFor(packageFile, dir) {
  const filesystem = await importPackage('@bytecodealliance/preview2-shim/filesystem', packageFile);
  if (typeof filesystem._addPreopen !== 'function') {
    throw new Error(`the preview2-shim ${packageFile} uses has no _addPreopen to give it ${dir}`);
  }
  filesystem._addPreopen(dir, dir);
}
