import { access, cp } from 'node:fs/promises'
import { join } from 'node:path'
import { packAndInstall } from './pack'
import { appDir, apps, fixturesDir } from './paths'

/**
 * `npm run test:package` has just packed and installed (pack.ts). Run alone (`playwright test -c
 * tests/package/playwright.config.ts`), the last install is reused with the fixtures' current files, or made
 * when there is none: after changing callhub itself, run pack.ts again.
 */
export default async function globalSetup(): Promise<void> {
  const installed = await Promise.all(apps.map((app) => access(join(appDir(app), 'node_modules/callhub/package.json')).then(() => true, () => false)))
  if (installed.includes(false)) await packAndInstall()
  else await Promise.all(apps.map((app) => cp(join(fixturesDir, app), appDir(app), { recursive: true, force: true })))
}
