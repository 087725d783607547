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

export async function ensureDemoBuilt(): Promise<string> {
  const built = await stat(join(demoDir, 'index.html')).catch(() => null)
  const newest = Math.max(...(await Promise.all(sources.map((source) => newestMtime(join(root, source))))))
  if (built === null || built.mtimeMs < newest) {
    console.log(built === null ? 'building the demo pages…' : 'sources changed: rebuilding the demo pages…')
    const { build } = await import('vite')
    await build({ configFile: join(root, 'vite.config.ts'), logLevel: 'warn' })
  }
  return demoDir
}
