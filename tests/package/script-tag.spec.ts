/** Plain pages with the script-tag build: copied from the installed package, found beside each other. */
import { copyFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { newSignedInContext } from '../browser/fixtures'
import { expect, expectThreeTabsOnOneSocketRing, serve, test } from './consumer'
import { appDir } from './paths'

const app = appDir('script-tag')

test.beforeAll(async () => {
  // As docs/adopting.md says: copy the two files from the installed package into the site's static folder.
  await mkdir(join(app, 'static'), { recursive: true })
  for (const file of ['callhub.global.js', 'worker.js']) {
    await copyFile(join(app, 'node_modules/callhub/dist', file), join(app, 'static', file))
  }
  // And, for the `worker` option, the worker under a name of the site's choosing.
  await copyFile(join(app, 'node_modules/callhub/dist/worker.js'), join(app, 'static/callhub-worker.js'))
})

test('three tabs of a page with only the script tag (data-auto) share one socket and ring', async ({ browser, pageErrors }) => {
  const { server, api } = await serve(app)
  try {
    const { workerUrl } = await expectThreeTabsOnOneSocketRing(browser, server.url + '/', api, pageErrors)
    // Found beside the script's own src.
    expect(new URL(workerUrl).pathname).toBe('/static/worker.js')
  } finally {
    await server.close()
  }
})

test('without data-auto, CallHub.connectCallHub(options) starts it with those options, worker included', async ({ browser }) => {
  const { server, api } = await serve(app)
  const alice = await newSignedInContext(browser, server.url, await api.login('alice'))
  try {
    const page = await alice.newPage()
    await page.goto('/manual.html')
    await expect.poll(() => page.evaluate(() => window.callHub.status.type)).toBe('open')
    const cdp = await alice.newCDPSession(page)
    const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: Array<{ type: string; url: string }> }
    expect(targetInfos.filter((target) => target.type === 'shared_worker').map((target) => new URL(target.url).pathname)).toEqual(['/static/callhub-worker.js'])
    await api.call(await api.login('bob'), 'Tutor:1')
    await expect(page.locator('#calls')).toContainText('Bob Bekele is calling')
    // `modal: false`: the page renders the call, callhub does not.
    await expect(page.getByRole('dialog')).toHaveCount(0)
  } finally {
    await alice.close()
    await server.close()
  }
})
