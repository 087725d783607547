/** Builds the demo pages with Vite when `build/demo/` is missing or older than any source it is built from. */
import { readdir, stat } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'

const root = fileURLToPath(new URL('..', import.meta.url))
/** The demo's build output (`dist/` is the library's). */
export const demoDir = join(root, 'build', 'demo')
const sources = ['client', 'worker', 'core', 'ui', 'protocol', 'demo', 'vite.config.ts', 'package-lock.json']

async function newestMtime(path: string): Promise<number> {
  const info = await stat(path).catch(() => null)
  if (info === null) return 0
  if (!info.isDirectory()) return info.mtimeMs
  const entries = await readdir(path)
  const times = await Promise.all(entries.map((entry) => newestMtime(join(path, entry))))
  return Math.max(info.mtimeMs, ...times)
}

/** Builds the demo into `outDir` (served under `base`) unless a build newer than every source is there. */
async function ensureBuilt(outDir: string, base: string, label: string): Promise<string> {
  const built = await stat(join(outDir, 'index.html')).catch(() => null)
  const newest = Math.max(...(await Promise.all(sources.map((source) => newestMtime(join(root, source))))))
  if (built === null || built.mtimeMs < newest) {
    console.log(built === null ? `building ${label}…` : `sources changed: rebuilding ${label}…`)
    const { build } = await import('vite')
    await build({ configFile: join(root, 'vite.config.ts'), base, build: { outDir, emptyOutDir: true }, logLevel: 'warn' })
  }
  return outDir
}

export function ensureDemoBuilt(): Promise<string> {
  return ensureBuilt(demoDir, '/', 'the demo pages')
}

/**
 * Two deploys of the demo on one origin, as after a release while old tabs stay open: the same pages under
 * `/v1/` and `/v2/`, each with its own worker URL (so its own SharedWorker). Returns the folder holding both.
 */
export async function ensureGenerationsBuilt(): Promise<string> {
  const dir = join(root, 'build', 'generations')
  await ensureBuilt(join(dir, 'v1'), '/v1/', 'the demo as deploy v1')
  await ensureBuilt(join(dir, 'v2'), '/v2/', 'the demo as deploy v2')
  return dir
}
