/** Builds the demo once, then says which engines will run and which are missing (fatal in CI). */
import { ensureDemoBuilt } from '../../server/build'
import { findEngines } from './installed'

export default async function globalSetup(): Promise<void> {
  await ensureDemoBuilt()
  const engines = findEngines()
  const missing = engines.filter((engine) => !engine.found)
  for (const engine of engines) {
    console.log(engine.found ? `engines: ${engine.engine} found` : `engines: ${engine.engine} MISSING (${engine.missing}); install: ${engine.install}`)
  }
  if (missing.length > 0 && process.env.CI) {
    throw new Error(`[engines] CI runs every engine, and ${missing.map((engine) => engine.engine).join(', ')} is missing: ${missing.map((engine) => engine.install).join('; ')}`)
  }
}
