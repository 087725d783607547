/**
 * The site the bench serves through the reference server's `staticDir`: a temporary copy of the built demo,
 * plus the comparator pages. Every page is the demo's tutor page; only its script differs, so callhub and
 * the comparators render the same DOM and styles.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const pagesDir = fileURLToPath(new URL('./pages', import.meta.url))

export type Comparator = 'callhub' | 'per-tab' | 'relay'

export interface BenchSite {
  dir: string
  /** The path of each comparator's page. */
  paths: Record<Comparator, string>
  /** The probe, as the source of an init script. */
  probeScript: string
  remove(): Promise<void>
}

export async function buildBenchSite(demoDir: string): Promise<BenchSite> {
  const dir = await mkdtemp(join(tmpdir(), 'callhub-bench-'))
  await cp(demoDir, dir, { recursive: true })
  await build({
    entryPoints: {
      'bench/per-tab': join(pagesDir, 'per-tab.ts'),
      'bench/relay': join(pagesDir, 'relay.ts'),
      'bench/relay-worker': join(pagesDir, 'relay-worker.ts'),
    },
    outdir: dir,
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    logLevel: 'warning',
  })
  const probe = await build({
    entryPoints: [join(pagesDir, 'probe.ts')],
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2022',
    write: false,
    logLevel: 'warning',
  })

  // The demo's event log adds DOM work per call that no comparator has: the bench pages go without it.
  const tutor = (await readFile(join(demoDir, 'tutor.html'), 'utf8')).replace('<ol id="events"></ol>', '')
  const demoScript = /<script type="module" crossorigin src="[^"]+"><\/script>/
  if (!demoScript.test(tutor)) throw new Error('[bench] build/demo/tutor.html has no module script to replace')
  const withScript = (src: string) => tutor.replace(demoScript, `<script type="module" src="${src}"></script>`)
  await writeFile(join(dir, 'bench', 'callhub.html'), tutor)
  await writeFile(join(dir, 'bench', 'per-tab.html'), withScript('/bench/per-tab.js'))
  await writeFile(join(dir, 'bench', 'relay.html'), withScript('/bench/relay.js'))

  return {
    dir,
    paths: { callhub: '/bench/callhub.html', 'per-tab': '/bench/per-tab.html', relay: '/bench/relay.html' },
    probeScript: probe.outputFiles[0]!.text,
    remove: () => rm(dir, { recursive: true, force: true }),
  }
}
