/**
 * `npm run bench` (`-- --quick`, or BENCH_QUICK=1, for a smoke run with small N): callhub against its
 * comparators in real Chromium and the reference server, all in one run. See README.md for what each
 * comparator and measurement is. Prints markdown and writes results.json (quick: results.local.json).
 */
import { execFileSync } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { cpus, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { buildLibrary } from '../scripts/build'
import { ensureDemoBuilt } from '../server/build'
import { startServer } from '../server/server'
import { launchBrowser } from './browser'
import { createEnv, fullPlan, quickPlan } from './env'
import { burstComparators, measureBurst } from './measure/burst'
import { measureDrop } from './measure/drop'
import { measureEngines } from './measure/engines'
import { measureFailover } from './measure/failover'
import { fanOutComparators, measureLatency } from './measure/latency'
import { measureMemory } from './measure/memory'
import { measureMessages } from './measure/messages'
import { measureNewTab } from './measure/new-tab'
import { measureSizes } from './measure/size'
import { measureSockets } from './measure/sockets'
import { evaluateTargets, renderMarkdown } from './report'
import type { Results } from './report'
import { withParties } from './parties'
import { createServerApi, recordServerSends } from './server-api'
import { buildBenchSite } from './site'

const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1'
/** `--report`: measure nothing; evaluate the targets of the last results again and print them (after a change to report.ts). */
const reportOnly = process.argv.includes('--report')
const plan = quick ? quickPlan : fullPlan
const output = fileURLToPath(new URL(quick ? './results.local.json' : './results.json', import.meta.url))

/** The commit measured, and whether the product's sources differ from it. */
function revision(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8' }).trim()
    const changed = git('status', '--porcelain', '--', 'client', 'worker', 'protocol', 'demo', 'server').split('\n').filter(Boolean).length
    return `${git('rev-parse', '--short', 'HEAD')}${changed > 0 ? ` + ${changed} changed files` : ''}`
  } catch {
    return 'unknown'
  }
}

async function reprint(): Promise<void> {
  // The targets saved with the results are evaluated anew.
  const { targets: _saved, ...results } = JSON.parse(await readFile(output, 'utf8')) as Results & { targets: unknown }
  const targets = evaluateTargets(results)
  await writeFile(output, JSON.stringify({ ...results, targets }, null, 2) + '\n')
  console.log(renderMarkdown(results, targets))
}

async function main(): Promise<void> {
  if (reportOnly) return reprint()
  const started = Date.now()
  // Other work on the machine shows in the tails: the run reports the load around it.
  const loadBefore = loadavg()[0]!
  const demoDir = await ensureDemoBuilt()
  const libraryDir = await buildLibrary()
  const site = await buildBenchSite(demoDir)
  const sends = recordServerSends()
  const server = await startServer({ port: 0, staticDir: site.dir, log: () => {} })
  const { browser, debuggingPort } = await launchBrowser()
  try {
    const env = createEnv({ plan, baseURL: server.url, site, api: createServerApi(server.url), sends, browser, debuggingPort })
    console.log(`callhub bench, ${plan.mode} plan`)
    // Seconds per measurement, reported with the results: the full run must stay well under 15 minutes.
    const seconds: string[] = []
    const step = async <T>(label: string, measure: () => Promise<T>): Promise<T> => {
      console.log(label)
      const from = Date.now()
      const result = await measure()
      seconds.push(`${label.slice(0, 3)} ${Math.round((Date.now() - from) / 1000)}`)
      console.log(`  ${seconds.at(-1)} s (load ${loadavg()[0]!.toFixed(1)})`)
      return result
    }
    const sizes = await step('(e) sizes', () => measureSizes(libraryDir))
    const sockets = await step('(a) sockets against tabs', () => measureSockets(env))
    // (b) and (g) share their tabs, and so do (c) and (h); opening them is left out of the steps' seconds.
    const { latency, messages } = await withParties(env, fanOutComparators, plan.latencyTabs, {}, async (parties) => ({
      latency: await step('(b) fan-out latency', () => measureLatency(env, parties)),
      messages: await step('(g) message fan-out', () => measureMessages(env, parties)),
    }))
    const { burst, chatBurst } = await withParties(env, burstComparators.chat, plan.burstTabs, { modal: false }, async (parties) => ({
      burst: await step('(c) burst of invitations', () => measureBurst(env, 'calls', parties)),
      chatBurst: await step('(h) burst of chat frames', () => measureBurst(env, 'chat', parties)),
    }))
    const newTab = await step('(d) new tab to open', () => measureNewTab(env))
    const drop = await step('(i) drop → next call ringing', () => measureDrop(env))
    const failover = await step('(j) tab closed → next call ringing', () => measureFailover(env))
    const memory = await step('(f) worker memory', () => measureMemory(env))
    const engines = await step('(k) per engine', () => measureEngines(env))
    const results: Results = {
      plan,
      environment: {
        date: new Date().toISOString(),
        revision: revision(),
        chromium: browser.version(),
        engines: engines.map((result) => `${result.engine} ${result.status === 'missing' ? 'missing' : `${result.version ?? '?'}${result.status === 'failed' ? ' (failed)' : ''}`}`).join(', '),
        node: process.version,
        cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
        durationSeconds: Math.round((Date.now() - started) / 1000),
        secondsPerMeasurement: seconds.join(', '),
        loadAverage: `${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after (1 min)`,
      },
      sockets, latency, burst, newTab, sizes, memory, messages, chatBurst, drop, failover, engines,
    }
    const targets = evaluateTargets(results)
    await writeFile(output, JSON.stringify({ ...results, targets }, null, 2) + '\n')
    console.log('\n' + renderMarkdown(results, targets))
    console.log(`wrote ${output}`)
  } finally {
    await browser.close()
    await server.close()
    sends.stop()
    await site.remove()
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
