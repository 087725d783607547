/** Firefox through puppeteer-core over WebDriver BiDi (there is no geckodriver to speak WebDriver classic). */
import { randomUUID } from 'node:crypto'
import puppeteer from 'puppeteer-core'
import type { ElementHandle, Page } from 'puppeteer-core'
import { inspectPage, markPageLeft, pageReadyTimeout, shownAfter, signInBeforeScripts, waitUntil } from '../harness'
import type { Engine, PageFunction, Profile, Tab } from '../harness'

export async function launchFirefox(executable: string): Promise<Engine> {
  const browser = await puppeteer.launch({ browser: 'firefox', executablePath: executable, headless: true })
  return {
    name: 'firefox',
    // `firefox/153.8.0` → `153.8.0`
    version: (await browser.version()).replace(/^firefox\//i, ''),
    async newProfile({ origin, token }): Promise<Profile> {
      // A BiDi user context: storage, and so SharedWorkers, of its own.
      const context = await browser.createBrowserContext()
      return {
        async openTab(path = '/') {
          const page = await context.newPage()
          await page.evaluateOnNewDocument(signInBeforeScripts, token)
          const tab = firefoxTab(page, origin)
          await tab.goto(path)
          return tab
        },
        close: () => context.close(),
      }
    },
    close: () => browser.close(),
  }
}

function firefoxTab(page: Page, origin: string): Tab {
  /** Leaves the page shown with `navigate`, and waits until the next page runs callhub. */
  async function leave(navigate: () => Promise<unknown>): Promise<void> {
    const mark = randomUUID()
    await page.evaluate(markPageLeft, mark)
    await navigate()
    await waitUntil(() => page.evaluate(shownAfter, mark), pageReadyTimeout, 'the next page')
  }
  return {
    async goto(path) {
      await page.goto(new URL(path, origin).href)
      // Polled on a timer: animation frames stop in background tabs.
      await page.waitForFunction(() => window.callHub !== undefined, { polling: 100, timeout: pageReadyTimeout })
    },
    reload: () => leave(() => page.reload()),
    // Not page.goBack(): it waits for a load event, which a page restored from the back/forward cache never fires.
    back: () => leave(() => page.evaluate(() => history.back())),
    evaluate: <Result, Arg>(pageFunction: PageFunction<Arg, Result>, arg?: Arg) =>
      page.evaluate(pageFunction as PageFunction<unknown, Result>, arg ?? null) as Promise<Result>,
    dialogs: async () => (await page.evaluate(inspectPage, null)).dialogs,
    async click(target) {
      const inspection = await page.evaluateHandle(inspectPage, target)
      const element = (await inspection.getProperty('target')).asElement() as ElementHandle<Element> | null
      if (element === null) throw new Error(`[engines] cannot click: ${await (await inspection.getProperty('problem')).jsonValue()}`)
      await element.click()
      await inspection.dispose()
    },
    close: () => page.close({ runBeforeUnload: false }),
  }
}
