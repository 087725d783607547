/** Builds the demo once, then says which engines will run and which are missing, with how to install them. */
import { ensureDemoBuilt } from '../../server/build'
import { describeInstallation, findEngines } from './installed'

export default async function globalSetup(): Promise<void> {
  await ensureDemoBuilt()
  const engines = findEngines()
  const missing = engines.filter((engine) => !engine.found)
  console.log(['engines:', ...engines.map((engine) => `  ${describeInstallation(engine)}`)].join('\n'))
  // Locally a missing engine is only reported; in CI (and when none is left to run) it fails the run.
  if (missing.length > 0 && (process.env.CI || missing.length === engines.length)) {
    const list = missing.map((engine) => `${engine.engine} (${engine.install})`).join(', ')
    throw new Error(`[engines] ${process.env.CI ? 'CI runs every engine' : 'no engine to run'}; missing: ${list}`)
  }
}
