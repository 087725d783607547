/**
 * `npm run screenshot`: photographs the real incoming-call dialog of the demo, in light and dark schemes
 * and at phone width, into docs/. Alice has the demo open; Bob calls her through the reference API.
 */
import { chromium } from '@playwright/test'
import type { Browser } from '@playwright/test'
import { fileURLToPath } from 'node:url'
import { ensureDemoBuilt } from '../server/build'
import { startServer } from '../server/server'
import { chromiumArgs, chromiumPath } from '../tests/browser/chromium'
import { createApi, newSignedInContext } from '../tests/browser/fixtures'

const docs = (name: string) => fileURLToPath(new URL(`../docs/${name}`, import.meta.url))

const shots = [
  { file: 'dialog-light.png', colorScheme: 'light', viewport: { width: 1000, height: 560 } },
  { file: 'dialog-dark.png', colorScheme: 'dark', viewport: { width: 1000, height: 560 } },
  { file: 'dialog-phone.png', colorScheme: 'light', viewport: { width: 390, height: 700 } },
] as const

async function photograph(browser: Browser, url: string, shot: (typeof shots)[number]): Promise<void> {
  const api = createApi(url)
  const context = await newSignedInContext(browser, url, await api.login('alice'))
  const page = await context.newPage()
  await page.setViewportSize(shot.viewport)
  await page.emulateMedia({ colorScheme: shot.colorScheme })
  await page.goto('/tutor.html')
  await page.waitForFunction(() => window.callHub?.status.type === 'open')
  const { call_log_id } = await api.call(await api.login('bob'), 'Tutor:1', { call_type: 'video' })
  const accept = page.getByRole('dialog', { name: /Bob Bekele/ }).getByRole('button', { name: 'Accept' })
  await accept.waitFor()
  await page.evaluate(() => document.fonts.ready)
  await page.screenshot({ path: docs(shot.file), animations: 'disabled' })
  await api.cancel(await api.login('bob'), call_log_id)
  await context.close()
  console.log(`wrote docs/${shot.file}`)
}

const staticDir = await ensureDemoBuilt()
const server = await startServer({ port: 0, staticDir, log: () => {} })
const browser = await chromium.launch({ executablePath: chromiumPath(), args: chromiumArgs })
try {
  for (const shot of shots) await photograph(browser, server.url, shot)
} finally {
  await browser.close()
  await server.close()
}
