/**
 * (e) What callhub adds to a page and to the worker: the files `npm run build` puts in `dist/`, minified and
 * gzipped. The ESM entry is measured as an app ships it (bundled with Comlink, minified); the worker and the
 * script-tag build are measured as they are, since they ship minified with Comlink inside. The same numbers
 * are the budgets of `npm run size` (.size-limit.json). Where the bytes come from is read off a bundle of the
 * sources.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import type { Plugin } from 'esbuild'

const root = fileURLToPath(new URL('../..', import.meta.url))

export interface BundleSize {
  name: 'client' | 'worker' | 'script tag'
  /** The built file, in `dist/`. */
  file: string
  minBytes: number
  gzipBytes: number
  /** The same code with Comlink left out (a bundle of the sources). */
  gzipBytesWithoutComlink: number
  /** The source files that weigh most in the minified bundle (before gzip), largest first. */
  largestSources: Array<{ path: string; minBytes: number }>
}

interface Bundle {
  code: string
  sources: Array<{ path: string; minBytes: number }>
}

// What the client loads with import() (the dialog once the hub is up, the tab host without a shared worker)
// is not a page's first load: left out of the client's measures from source, as from dist/.
const lazyImportsOut: Plugin = {
  name: 'lazy-imports-out',
  setup(builder) { builder.onResolve({ filter: /.*/ }, (args) => args.kind === 'dynamic-import' ? { path: args.path, external: true } : undefined) },
}

async function bundle(entry: string, external: string[], format: 'esm' | 'iife' = 'esm', firstLoad = false): Promise<Bundle> {
  const result = await build({
    entryPoints: [entry], bundle: true, minify: true, format, target: 'es2022', platform: 'browser',
    write: false, external, metafile: true, logLevel: 'warning', plugins: firstLoad ? [lazyImportsOut] : [],
    // As scripts/build.ts does: the script-tag build never reads import.meta.
    define: format === 'iife' ? { 'import.meta.url': 'undefined' } : undefined,
  })
  const output = Object.values(result.metafile.outputs)[0]
  const sources = Object.entries(output?.inputs ?? {})
    .map(([path, input]) => ({ path: path.replace(/^node_modules\//, ''), minBytes: input.bytesInOutput }))
    .sort((a, b) => b.minBytes - a.minBytes)
  return { code: result.outputFiles[0]!.text, sources }
}

const gzip = (text: string | Buffer): number => gzipSync(text, { level: 9 }).length

/** `libraryDir` is `dist/`, freshly built (scripts/build.ts `buildLibrary`). */
export async function measureSizes(libraryDir: string): Promise<BundleSize[]> {
  const files = [
    { name: 'client' as const, file: 'index.js', source: 'client/index.ts', format: 'esm' as const },
    { name: 'worker' as const, file: 'worker.js', source: 'worker/entry.ts', format: 'esm' as const },
    { name: 'script tag' as const, file: 'callhub.global.js', source: 'client/global.ts', format: 'iife' as const },
  ]
  return Promise.all(files.map(async ({ name, file, source, format }) => {
    const path = join(libraryDir, file)
    // index.js leaves Comlink to the app's bundler and minifier: do what the app does. What it loads only
    // when needed (the dialog once the hub is up, the tab host without a shared worker) is not a page's first
    // load: left out, as .size-limit.js leaves it out.
    const shipped = name === 'client' ? (await bundle(path, ['./chunks/ui-*', './chunks/page-host-*'])).code : await readFile(path, 'utf8')
    const firstLoad = name === 'client'
    const fromSources = await bundle(join(root, source), [], format, firstLoad)
    return {
      name, file: `dist/${file}`,
      minBytes: Buffer.byteLength(shipped),
      gzipBytes: gzip(shipped),
      gzipBytesWithoutComlink: gzip((await bundle(join(root, source), ['comlink'], format, firstLoad)).code),
      largestSources: fromSources.sources.slice(0, 6),
    }
  }))
}
