/** Firefox through puppeteer-core over WebDriver BiDi (there is no geckodriver to speak WebDriver classic). */
import { randomUUID } from 'node:crypto'
import puppeteer from 'puppeteer-core'
import type { ElementHandle, Page } from 'puppeteer-core'
import { inspectField, inspectPage, markPageLeft, pageReadyTimeout, shownAfter, signInBeforeScripts, waitUntil } from '../harness'
import type { Engine, FieldTarget, InitScript, PageFunction, Profile, Tab } from '../harness'

export async function launchFirefox(executable: string): Promise<Engine> {
  const browser = await puppeteer.launch({ browser: 'firefox', executablePath: executable, headless: true })
  return {
    name: 'firefox',
    // `firefox/153.8.0` → `153.8.0`
    version: (await browser.version()).replace(/^firefox\//i, ''),
    async newProfile({ origin, token }): Promise<Profile> {
      // A BiDi user context: storage, and so SharedWorkers, of its own.
      const context = await browser.createBrowserContext()
      // BiDi preload scripts are per page here (puppeteer has none per user context): every page gets each.
      const initScripts: Array<{ script: InitScript<never>; arg: unknown }> = [{ script: signInBeforeScripts as InitScript<never>, arg: token }]
      const pages = new Set<Page>()
      const addTo = (page: Page, { script, arg }: (typeof initScripts)[number]) => page.evaluateOnNewDocument(script, arg as never)
      return {
        async openTab(path = '/') {
          const page = await context.newPage()
          pages.add(page)
          page.once('close', () => pages.delete(page))
          for (const initScript of initScripts) await addTo(page, initScript)
          const tab = firefoxTab(page, origin)
          await tab.goto(path)
          return tab
        },
        async addInitScript(script, arg) {
          const initScript = { script: script as InitScript<never>, arg: arg ?? null }
          initScripts.push(initScript)
          await Promise.all([...pages].map((page) => addTo(page, initScript)))
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
    async fill(target, text) {
      const { field } = await fieldOf(target, null)
      await field.evaluate((element) => {
        ;(element as HTMLInputElement).value = ''
      })
      await field.type(text)
    },
    async select(target, option) {
      const { field, chosen } = await fieldOf(target, option)
      // puppeteer chooses by value: the value of the option found by its text.
      await field.select(await chosen!.evaluate((element) => (element as HTMLOptionElement).value))
    },
    close: () => page.close({ runBeforeUnload: false }),
  }

  async function fieldOf(target: FieldTarget, option: string | null) {
    const inspection = await page.evaluateHandle(inspectField, { name: target.name, option })
    const field = (await inspection.getProperty('field')).asElement() as ElementHandle<Element> | null
    const chosen = (await inspection.getProperty('option')).asElement() as ElementHandle<Element> | null
    const problem = await (await inspection.getProperty('problem')).jsonValue()
    await inspection.dispose()
    if (field === null || problem !== null) throw new Error(`[engines] cannot use a field: ${problem}`)
    return { field, chosen }
  }
}
