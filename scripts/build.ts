/**
 * `npm run build`: the library, into `dist/` (the demo builds elsewhere, `build/demo/`).
 *
 *   dist/index.js            ESM entry for bundlers; imports `comlink`, starts `./worker.js` beside itself
 *   dist/chunks/*.js         what the entry loads when needed: the dialog, the tab host
 *   dist/index.d.ts          its types, one file
 *   dist/worker.js           the SharedWorker, self-contained (Comlink inside) and minified: a stable name,
 *                            so an app can also serve it itself
 *   dist/callhub.global.js   the script-tag build, global `CallHub`, finds `worker.js` beside its own src
 *
 * esbuild leaves `new SharedWorker(new URL('./worker.js', import.meta.url), …)` as written, for the app's
 * bundler to find; dts-bundle-generator rolls the declarations into one file (README, "Why esbuild").
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import type { BuildOptions, Plugin } from 'esbuild'
import { generateDtsBundle } from 'dts-bundle-generator'

const root = fileURLToPath(new URL('..', import.meta.url))
/** The library's build output, what `npm pack` ships. */
export const libraryDir = join(root, 'dist')
const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string }
const banner = { js: `/*! callhub ${version} | MIT License */` }

/**
 * In the source tree the client starts `../worker/entry.ts` (the demo's Vite build bundles it from there); in
 * `dist` the worker is `./worker.js` beside the entry.
 */
const workerBesideEntry: Plugin = {
  name: 'callhub:worker-beside-entry',
  setup(plugin) {
    plugin.onLoad({ filter: /[\\/]client[\\/]worker\.ts$/ }, async ({ path }) => {
      const source = await readFile(path, 'utf8')
      const from = "new URL('../worker/entry.ts', import.meta.url)"
      if (source.split(from).length !== 2) throw new Error(`[build] expected ${from} once in client/worker.ts`)
      return { contents: source.replace(from, "new URL('./worker.js', import.meta.url)"), loader: 'ts' }
    })
  },
}

const common: BuildOptions = {
  bundle: true, platform: 'browser', target: 'es2022', logLevel: 'warning', legalComments: 'inline',
  plugins: [workerBesideEntry],
}

export async function buildLibrary(): Promise<string> {
  await rm(libraryDir, { recursive: true, force: true })
  await mkdir(libraryDir, { recursive: true })

  await Promise.all([
    // Not minified: the app's bundler minifies, and its users read stack traces through it. Comlink stays a
    // dependency, so an app that has it shares one copy.
    // Split: the dialog (loaded once the hub is up) and the tab host (only without a shared worker) are
    // chunks of their own, so a page's first load is the entry alone.
    build({
      ...common, entryPoints: { index: join(root, 'client/index.ts') }, outdir: libraryDir, format: 'esm', packages: 'external',
      splitting: true, chunkNames: 'chunks/[name]-[hash]',
    }),
    build({
      ...common, entryPoints: { worker: join(root, 'worker/entry.ts') }, outdir: libraryDir, format: 'esm', minify: true,
      sourcemap: true, banner,
    }),
    build({
      ...common, entryPoints: { 'callhub.global': join(root, 'client/global.ts') }, outdir: libraryDir, format: 'iife',
      globalName: 'CallHub', minify: true, sourcemap: true, banner,
      // A classic script has no import.meta; client/global.ts always passes the worker's URL, so nothing here
      // reaches the bundler-only branch that reads it.
      define: { 'import.meta.url': 'undefined' },
    }),
  ])

  const [types] = generateDtsBundle(
    [{ filePath: join(root, 'client/index.ts'), output: { noBanner: true, exportReferencedTypes: false } }],
    { preferredConfigPath: join(root, 'tsconfig.build.json') },
  )
  await writeFile(join(libraryDir, 'index.d.ts'), types!)
  // `callhub/worker` is a script to start, not a module to import: it exports nothing.
  await writeFile(join(libraryDir, 'worker.d.ts'), '// The SharedWorker script (`new SharedWorker(url)`): it exports nothing.\nexport {}\n')
  return libraryDir
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await buildLibrary()
  console.log('built dist/: index.js, index.d.ts, worker.js, worker.d.ts, callhub.global.js')
}
