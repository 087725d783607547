/**
 * `npm run bench` (`-- --quick`, or BENCH_QUICK=1, for a smoke run with small N): callhub against its
 * comparators in real Chromium and the reference server, all in one run. See README.md for what each
 * comparator and measurement is. Prints markdown and writes results.json (quick: results.local.json).
 */
import { execFileSync } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { cpus, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { buildLibrary } from '../scripts/build'
import { ensureDemoBuilt } from '../server/build'
import { startServer } from '../server/server'
import { launchBrowser } from './browser'
import { createEnv, fullPlan, quickPlan } from './env'
import { measureBurst } from './measure/burst'
import { measureDrop } from './measure/drop'
import { measureEngines } from './measure/engines'
import { measureFailover } from './measure/failover'
import { measureLatency } from './measure/latency'
import { measureMemory } from './measure/memory'
import { measureMessages } from './measure/messages'
import { measureNewTab } from './measure/new-tab'
import { measureSizes } from './measure/size'
import { measureSockets } from './measure/sockets'
import { evaluateTargets, renderMarkdown } from './report'
import type { Results } from './report'
import { createServerApi, recordServerSends } from './server-api'
import { buildBenchSite } from './site'

const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1'
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

async function main(): Promise<void> {
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
    console.log('(e) sizes')
    const sizes = await measureSizes(libraryDir)
    console.log('(a) sockets against tabs')
    const sockets = await measureSockets(env)
    console.log('(b) fan-out latency')
    const latency = await measureLatency(env)
    console.log('(g) message fan-out')
    const messages = await measureMessages(env)
    console.log('(c) burst of invitations')
    const burst = await measureBurst(env, 'calls')
    console.log('(h) burst of chat frames')
    const chatBurst = await measureBurst(env, 'chat')
    console.log('(d) new tab to open')
    const newTab = await measureNewTab(env)
    console.log('(i) drop → next call ringing')
    const drop = await measureDrop(env)
    console.log('(j) tab closed → next call ringing')
    const failover = await measureFailover(env)
    console.log('(f) worker memory')
    const memory = await measureMemory(env)
    console.log('(k) per engine')
    const engines = await measureEngines(env)
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
