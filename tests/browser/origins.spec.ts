/**
 * A backend on another origin: the pages come from one server, the API and the socket from another that
 * allows the pages' origin (CORS); one option, `apiBase`, sends `/api/me` and the socket there.
 */
import { demoDir } from '../../server/build'
import { startServer } from '../../server/server'
import { createApi, dialogFrom, expect, expectOpen, newSignedInContext, test } from './fixtures'

test('pages on one origin with apiBase on another: one socket on the backend, and calls ring', async ({ browser }) => {
  const pages = await startServer({ port: 0, staticDir: demoDir, log: () => {} })
  // The pages' origin is localhost, the backend's 127.0.0.1: two origins, both secure contexts.
  const pagesOrigin = `http://localhost:${pages.port}`
  const backend = await startServer({ port: 0, log: () => {}, corsOrigins: [pagesOrigin] })
  try {
    const api = createApi(backend.url)
    const context = await newSignedInContext(browser, pagesOrigin, await api.login('alice'), { apiBase: backend.url })
    const tabs = await Promise.all([0, 1, 2].map(() => context.newPage()))
    await Promise.all(tabs.map((tab) => tab.goto('/')))
    await expectOpen(tabs)
    expect(await api.stats()).toEqual({ 'Tutor:1': 1 })
    expect(await createApi(pages.url).stats()).toEqual({})
    await api.call(await api.login('bob'), 'Tutor:1')
    for (const tab of tabs) await expect(dialogFrom(tab, 'Bob Bekele')).toBeVisible()
    await context.close()
  } finally {
    await backend.close()
    await pages.close()
  }
})
