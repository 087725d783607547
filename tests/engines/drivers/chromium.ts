/** Chromium through Playwright, as the rest of the browser tests drive it. */
import { chromium } from '@playwright/test'
import type { Page } from '@playwright/test'
import { chromiumArgs } from '../../browser/chromium'
import { inspectPage, pageReadyTimeout, signInBeforeScripts } from '../harness'
import type { Engine, PageFunction, Profile, Tab } from '../harness'

export async function launchChromium(executable: string): Promise<Engine> {
  const browser = await chromium.launch({ executablePath: executable, args: chromiumArgs })
  return {
    name: 'chromium',
    version: browser.version(),
    async newProfile({ origin, token }): Promise<Profile> {
      const context = await browser.newContext({ baseURL: origin })
      await context.addInitScript(signInBeforeScripts, token)
      return {
        async openTab(path = '/') {
          const tab = chromiumTab(await context.newPage())
          await tab.goto(path)
          return tab
        },
        close: () => context.close(),
      }
    },
    close: () => browser.close(),
  }
}

function chromiumTab(page: Page): Tab {
  return {
    async goto(path) {
      await page.goto(path)
      await page.waitForFunction(() => window.callHub !== undefined, undefined, { timeout: pageReadyTimeout })
    },
    async back() {
      await page.goBack()
      await page.waitForFunction(() => window.callHub !== undefined, undefined, { timeout: pageReadyTimeout })
    },
    evaluate: <Result, Arg>(pageFunction: PageFunction<Arg, Result>, arg?: Arg) =>
      page.evaluate(pageFunction as PageFunction<unknown, Result>, arg ?? null),
    dialogs: async () => (await page.evaluate(inspectPage, null)).dialogs,
    async click(target) {
      const inspection = await page.evaluateHandle(inspectPage, target)
      const element = (await inspection.getProperty('target')).asElement()
      if (element === null) throw new Error(`[engines] cannot click: ${await (await inspection.getProperty('problem')).jsonValue()}`)
      await element.click()
      await inspection.dispose()
    },
    close: () => page.close({ runBeforeUnload: false }),
  }
}
