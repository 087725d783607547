/** A plain page whose only callhub line is `<script src="/static/callhub.global.js" data-auto>`. */
import { copyFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { expect, expectThreeTabsOnOneSocketRing, serve, test } from './consumer'
import { appDir } from './paths'

const app = appDir('script-tag')

test('three tabs of a page with only the script tag share one socket and ring', async ({ browser, pageErrors }) => {
  // As docs/adopting.md says: copy the two files from the installed package into the site's static folder.
  await mkdir(join(app, 'static'), { recursive: true })
  for (const file of ['callhub.global.js', 'worker.js']) {
    await copyFile(join(app, 'node_modules/callhub/dist', file), join(app, 'static', file))
  }
  const { server, api } = await serve(app)
  try {
    const { workerUrl } = await expectThreeTabsOnOneSocketRing(browser, server.url + '/', api, pageErrors)
    // Found beside the script's own src.
    expect(new URL(workerUrl).pathname).toBe('/static/worker.js')
  } finally {
    await server.close()
  }
})
