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
import { optionsSource } from './browser'

const pagesDir = fileURLToPath(new URL('./pages', import.meta.url))

/**
 * `leader-tab` is callhub where the browser has no SharedWorker: the same page, in a context whose init
 * script removes `SharedWorker` (see `browser.ts`), so the tabs elect one of them to own the socket.
 */
export type Comparator = 'callhub' | 'leader-tab' | 'per-tab' | 'relay'

/** One letter per comparator in the ids of its frames, so ids have the same width whoever gets them. */
export const comparatorTags: Record<Comparator, string> = { callhub: 'h', 'leader-tab': 'f', 'per-tab': 't', relay: 'r' }

export interface BenchSite {
  dir: string
  /** The path of each comparator's page. */
  paths: Record<Comparator, string>
  /**
   * The pages for (k), driven by the cross-engine drivers, not all of which have init scripts (WebDriver
   * classic has none): they load the probe and the options as a classic script in their head, which runs
   * before the page's module.
   */
  enginePaths: Record<'callhub' | 'per-tab', string>
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

  // The demo's event log and chat panel add DOM work per call or message that no comparator has (the
  // probe's handler stands in for a chat widget in every comparator): the bench pages go without them.
  const tutor = (await readFile(join(demoDir, 'tutor.html'), 'utf8'))
    .replace('<ol id="events"></ol>', '')
    .replace('<section id="chat" hidden></section>', '')
  const demoScript = /<script type="module" crossorigin src="[^"]+"><\/script>/
  if (!demoScript.test(tutor)) throw new Error('[bench] build/demo/tutor.html has no module script to replace')
  const withScript = (src: string) => tutor.replace(demoScript, `<script type="module" src="${src}"></script>`)
  const probeScript = probe.outputFiles[0]!.text
  await writeFile(join(dir, 'bench', 'callhub.html'), tutor)
  await writeFile(join(dir, 'bench', 'per-tab.html'), withScript('/bench/per-tab.js'))
  await writeFile(join(dir, 'bench', 'relay.html'), withScript('/bench/relay.js'))

  // The engine pages time the handler only (no rendered frame: background tabs get none in shipped browsers).
  await writeFile(join(dir, 'bench', 'engine-probe.js'),
    `window.benchHandlerOnly = true;\nwindow.callHubOptions = ${optionsSource({})};\n${probeScript}`)
  const withProbe = (html: string) => html.replace('</head>', '<script src="/bench/engine-probe.js"></script></head>')
  await writeFile(join(dir, 'bench', 'engine-callhub.html'), withProbe(tutor))
  await writeFile(join(dir, 'bench', 'engine-per-tab.html'), withProbe(withScript('/bench/per-tab.js')))

  return {
    dir,
    paths: { callhub: '/bench/callhub.html', 'leader-tab': '/bench/callhub.html', 'per-tab': '/bench/per-tab.html', relay: '/bench/relay.html' },
    enginePaths: { callhub: '/bench/engine-callhub.html', 'per-tab': '/bench/engine-per-tab.html' },
    probeScript,
    remove: () => rm(dir, { recursive: true, force: true }),
  }
}
