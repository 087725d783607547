/**
 * (e) What callhub adds to a page and to the worker, minified and gzipped: the client (with its dialog) as
 * an app bundles it, and the SharedWorker script. Comlink is inside both; the sizes without it show its share.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

const root = fileURLToPath(new URL('../..', import.meta.url))

export interface BundleSize {
  name: 'client' | 'worker'
  entry: string
  minBytes: number
  gzipBytes: number
  /** The same bundle with Comlink left out. */
  gzipBytesWithoutComlink: number
  /** The same code as the demo's Vite build emitted it, gzipped; null where Vite inlines it into the app. */
  viteGzipBytes: number | null
  /** The source files that weigh most in the minified bundle (before gzip), largest first. */
  largestSources: Array<{ path: string; minBytes: number }>
}

interface Bundle {
  code: string
  sources: Array<{ path: string; minBytes: number }>
}

async function bundle(entry: string, external: string[]): Promise<Bundle> {
  const result = await build({
    entryPoints: [join(root, entry)], bundle: true, minify: true, format: 'esm', target: 'es2022',
    platform: 'browser', write: false, external, metafile: true, logLevel: 'warning',
  })
  const output = Object.values(result.metafile.outputs)[0]
  const sources = Object.entries(output?.inputs ?? {})
    .map(([path, input]) => ({ path: path.replace(/^node_modules\//, ''), minBytes: input.bytesInOutput }))
    .sort((a, b) => b.minBytes - a.minBytes)
  return { code: result.outputFiles[0]!.text, sources }
}

const gzip = (text: string | Buffer): number => gzipSync(text, { level: 9 }).length

export async function measureSizes(distDir: string): Promise<BundleSize[]> {
  const assets = join(distDir, 'assets')
  const workerAsset = (await readdir(assets)).find((file) => /^entry-.*\.js$/.test(file))
  const entries = [
    { name: 'client' as const, entry: 'client/index.ts', vite: null },
    { name: 'worker' as const, entry: 'worker/entry.ts', vite: workerAsset === undefined ? null : join(assets, workerAsset) },
  ]
  return Promise.all(entries.map(async ({ name, entry, vite }) => {
    const { code, sources } = await bundle(entry, [])
    return {
      name, entry,
      minBytes: Buffer.byteLength(code),
      gzipBytes: gzip(code),
      gzipBytesWithoutComlink: gzip((await bundle(entry, ['comlink'])).code),
      viteGzipBytes: vite === null ? null : gzip(await readFile(vite)),
      largestSources: sources.slice(0, 6),
    }
  }))
}
