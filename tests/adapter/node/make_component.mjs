// Usage: node make_component.mjs IN.wasm WIT_DIR WORLD OUT.wasm
//
// Wraps a core module written against the canonical ABI (the C test guests) into a component of
// WORLD, a world of the WIT package in WIT_DIR (its dependencies in WIT_DIR/deps): wasm-tools'
// `component embed` then `component new`, through jco's library functions. The WIT directory is
// preopened for them first (see preopenFor in adapter_packages.mjs).
import { readFile, rename, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';

import { importPackage, preopenFor, resolvePackage } from './adapter_packages.mjs';

async function main(argv) {
  if (argv.length !== 4) {
    throw new Error('usage: node make_component.mjs IN.wasm WIT_DIR WORLD OUT.wasm');
  }
  const [inPath, witArg, world, outPath] = argv;
  const witDir = resolve(witArg);

  const wasmToolsPath = resolvePackage(
    '@bytecodealliance/jco-transpile/wasm-tools',
    resolvePackage('@bytecodealliance/jco'),
  );
  await preopenFor(wasmToolsPath, witDir);
  const { componentEmbed, componentNew } = await importPackage(wasmToolsPath);

  const binary = await readFile(inPath);
  const embedded = await componentEmbed({ binary, witPath: witDir, world });
  const component = await componentNew(embedded);

  // A failed build leaves no half-written output behind for the next build to trust.
  const partial = `${outPath}.partial`;
  await writeFile(partial, component);
  await rename(partial, outPath);
}

main(process.argv.slice(2)).catch((error) => {
  console.error(`make_component: ${error?.stack ?? error}`);
  process.exit(1);
});
