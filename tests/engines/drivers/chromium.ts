/** Chromium through Playwright, as in tests/browser but with the tab lifetime Chrome ships (below). */
import { randomUUID } from 'node:crypto'
import { chromium } from '@playwright/test'
import type { Page } from '@playwright/test'
import { chromiumArgs } from '../../browser/chromium'
import { inspectField, inspectPage, markPageLeft, pageReadyTimeout, shownAfter, signInBeforeScripts, waitUntil } from '../harness'
import type { Engine, FieldTarget, InitScript, PageFunction, Profile, Tab } from '../harness'

export async function launchChromium(executable: string): Promise<Engine> {
  // Playwright turns off the back/forward cache and the throttling of background tabs; Chrome has them on,
  // and tab lifetime is where callhub lives: drive Chromium as shipped.
  const playwrightOnlyArgs = [
    '--disable-back-forward-cache', '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
    '--disable-backgrounding-occluded-windows',
  ]
  const browser = await chromium.launch({ executablePath: executable, args: chromiumArgs, ignoreDefaultArgs: playwrightOnlyArgs })
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
        async addInitScript(script, arg) {
          await context.addInitScript(script as InitScript<unknown>, arg ?? null)
        },
        close: () => context.close(),
      }
    },
    close: () => browser.close(),
  }
}

function chromiumTab(page: Page): Tab {
  /** Leaves the page shown with `navigate`, and waits until the next page runs callhub. */
  async function leave(navigate: () => Promise<unknown>): Promise<void> {
    const mark = randomUUID()
    await page.evaluate(markPageLeft, mark)
    await navigate()
    await waitUntil(() => page.evaluate(shownAfter, mark), pageReadyTimeout, 'the next page')
  }
  return {
    async goto(path) {
      await page.goto(path)
      await page.waitForFunction(() => window.callHub !== undefined, undefined, { timeout: pageReadyTimeout })
    },
    reload: () => leave(() => page.reload({ waitUntil: 'commit' })),
    // Only until the history entry commits: a page restored from the back/forward cache fires no load event.
    back: () => leave(() => page.goBack({ waitUntil: 'commit' })),
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
    async fill(target, text) {
      const { field } = await fieldOf(target, null)
      await field.fill('')
      await page.keyboard.type(text)
    },
    async select(target, option) {
      const { field, chosen } = await fieldOf(target, option)
      await field.selectOption(chosen!)
    },
    close: () => page.close({ runBeforeUnload: false }),
  }

  async function fieldOf(target: FieldTarget, option: string | null) {
    const inspection = await page.evaluateHandle(inspectField, { name: target.name, option })
    const field = (await inspection.getProperty('field')).asElement()
    const chosen = (await inspection.getProperty('option')).asElement()
    const problem = await (await inspection.getProperty('problem')).jsonValue()
    await inspection.dispose()
    if (field === null || problem !== null) throw new Error(`[engines] cannot use a field: ${problem}`)
    return { field, chosen }
  }
}
