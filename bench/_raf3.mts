import { ensureDemoBuilt } from '../server/build'
import { startServer } from '../server/server'
import { buildBenchSite } from './site'
import { createServerApi } from './server-api'
import { newBenchContext, openTabs, optionsSource, comparatorUsers } from './browser'
import { chromium } from '@playwright/test'
import { chromiumArgs, chromiumPath } from '../tests/browser/chromium'
const extra = process.argv.slice(3)
const kind = process.argv[2] as 'callhub' | 'per-tab' | 'relay'
const site = await buildBenchSite(await ensureDemoBuilt())
const server = await startServer({ port: 0, staticDir: site.dir, log: () => {} })
const api = createServerApi(server.url)
const browser = await chromium.launch({ executablePath: chromiumPath(), args: [...chromiumArgs, ...extra] })
const probe = `new Promise((res) => { const t = performance.now(); const out = []; function f() { out.push(Math.round(performance.now() - t)); if (out.length < 4) requestAnimationFrame(f); else res(out) }; requestAnimationFrame(f) })`
const ctx = await newBenchContext(browser, { baseURL: server.url, token: await api.login(comparatorUsers[kind].username), probeScript: site.probeScript, options: optionsSource({}) })
const pages = process.env.SEQ ? [] : await openTabs(ctx, site.paths[kind], 6)
if (process.env.SEQ) for (let i = 0; i < 6; i++) pages.push(...await openTabs(ctx, site.paths[kind], 1))
let slow = 0, total = 0; const where: number[] = []
for (let i = 0; i < 10; i++) {
  const r = await Promise.all(pages.map((p) => p.evaluate(probe))) as number[][]
  r.forEach((x, j) => { total++; if (x[3]! > 200) { slow++; where.push(j) } })
  await new Promise((r) => setTimeout(r, 300 * Math.random()))
}
console.log(kind, extra.join(' ') || '(none)', 'slow', slow, 'of', total, where.join(','))
await browser.close(); await server.close(); await site.remove()
