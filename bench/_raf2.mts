import { ensureDemoBuilt } from '../server/build'
import { startServer } from '../server/server'
import { buildBenchSite } from './site'
import { createServerApi } from './server-api'
import { launchBrowser, newBenchContext, openTabs, optionsSource, comparatorUsers } from './browser'
import { invitationFrame, cancelFrame, callId } from './frames'
const site = await buildBenchSite(await ensureDemoBuilt())
const server = await startServer({ port: 0, staticDir: site.dir, log: () => {} })
const api = createServerApi(server.url)
const { browser } = await launchBrowser()
const probe = `new Promise((res) => { const t = performance.now(); const out = []; function f() { out.push(Math.round(performance.now() - t)); if (out.length < 4) requestAnimationFrame(f); else res(out) }; requestAnimationFrame(f) })`
for (const kind of ['callhub', 'per-tab'] as const) {
  const ctx = await newBenchContext(browser, { baseURL: server.url, token: await api.login(comparatorUsers[kind].username), probeScript: site.probeScript, options: optionsSource({}) })
  const pages = await openTabs(ctx, site.paths[kind], 3)
  console.log(kind, 'idle raf', JSON.stringify(await Promise.all(pages.map((p) => p.evaluate(probe)))))
  for (let i = 0; i < 4; i++) {
    const id = callId('x' + kind[0], i)
    const shown = pages.map((p) => p.evaluate((id) => window.benchProbe.shown(id), id))
    await api.send(comparatorUsers[kind].profileKey, invitationFrame(id))
    await Promise.all(shown)
    const recs = await Promise.all(pages.map((p) => p.evaluate(() => window.benchProbe.takeRecords())))
    console.log(kind, JSON.stringify(recs.map((r) => r.map((x) => Math.round(x.visibleAt! - x.handlerAt)))))
    console.log(kind, 'raf with dialog', JSON.stringify(await Promise.all(pages.map((p) => p.evaluate(probe)))))
    const ended = pages.map((p) => p.evaluate((id) => window.benchProbe.ended(id), id))
    await api.send(comparatorUsers[kind].profileKey, cancelFrame(id))
    await Promise.all(ended)
  }
}
await browser.close(); await server.close(); await site.remove()
