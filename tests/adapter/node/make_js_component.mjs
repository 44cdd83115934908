// Usage: node make_js_component.mjs SOURCE.js WIT_DIR WORLD OUT.wasm
//
// Builds a JavaScript guest into a component of WORLD (a world of the WIT package in WIT_DIR) with
// componentize-js: StarlingMonkey, the SpiderMonkey embedding, with the module's code
// preinitialized into it. Its splicer reads the WIT directory through preview2-shim: see
// preopenFor in adapter_packages.mjs.
//
// The engine imports WASI whatever features are turned off (wasi:cli stdio and terminals,
// wasi:io, wasi:filesystem, wasi:clocks/wall-clock): the host that runs the component must
// provide them. The features the checks do not use are off, so it need not provide wasi:http,
// wasi:random or the monotonic clock; stdio stays, for the checks' failure messages.
import { rename, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';

import { importPackage, preopenFor, resolvePackage } from './adapter_packages.mjs';

async function main(argv) {
  if (argv.length !== 4) {
    throw new Error('usage: node make_js_component.mjs SOURCE.js WIT_DIR WORLD OUT.wasm');
  }
  const [sourcePath, witDir, worldName, outPath] = argv;
  const componentizePath = resolvePackage('@bytecodealliance/componentize-js');
  try {
    await preopenFor(componentizePath, resolve(witDir));
  } catch (error) {
    if (error?.code !== 'MODULE_NOT_FOUND') throw error;
    // componentize-js 0.23 imports preview2-shim but declares it only as a devDependency.
    throw new Error(
      'componentize-js cannot find @bytecodealliance/preview2-shim, which it imports without ' +
        'depending on it: adapter/node/package.json must list it (then `npm ci` there)',
      { cause: error },
    );
  }
  const { componentize } = await importPackage(componentizePath);
  const { component } = await componentize({
    sourcePath: resolve(sourcePath),
    witPath: resolve(witDir),
    worldName,
    disableFeatures: ['http', 'fetch-event', 'random', 'clocks'],
  });

  // A failed build leaves no half-written output behind for the next build to trust.
  const partial = `${outPath}.partial`;
  await writeFile(partial, component);
  await rename(partial, outPath);
}

main(process.argv.slice(2)).catch((error) => {
  console.error(`make_js_component: ${error?.stack ?? error}`);
  process.exit(1);
});
