// Finds and loads wasikv_node.node, the N-API addon (../addon/) that serves
// wasi:keyvalue calls through the adapter's Host and Session.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const ADDON_IN_BUILD_TREE = join('adapter', 'node', 'wasikv_node.node');

// Where the addon is: `explicitPath`, else $WASIKV_NODE_ADDON, else the most
// recently built build/<preset>/adapter/node/wasikv_node.node of this
// checkout. Throws an Error naming the places it looked.
export function addonPath(explicitPath) {
  if (explicitPath) return resolve(explicitPath);
  if (process.env.WASIKV_NODE_ADDON) return resolve(process.env.WASIKV_NODE_ADDON);
  const buildDir = join(repoRoot, 'build');
  const candidates = existsSync(buildDir)
    ? readdirSync(buildDir)
        .map((preset) => join(buildDir, preset, ADDON_IN_BUILD_TREE))
        .filter((path) => existsSync(path))
    : [];
  if (candidates.length === 0) {
    throw new Error(
      `cannot find wasikv_node.node: set WASIKV_NODE_ADDON, or build the CMake target ` +
        `wasikv_node_addon (looked in ${join(buildDir, '*', ADDON_IN_BUILD_TREE)})`,
    );
  }
  candidates.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  return candidates[0];
}

// The addon's exports, { Host, Session } (see ../addon/host_object.h and
// session_object.h). Loading the same path again returns the same module.
export function loadAddon(explicitPath) {
  return require(addonPath(explicitPath));
}
