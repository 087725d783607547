import { ensureDemoBuilt, ensureGenerationsBuilt } from '../../server/build'

/** The browser tests drive the built demo pages (and two deploys of them): build them once, when missing or stale. */
export default async function globalSetup(): Promise<void> {
  await ensureDemoBuilt()
  await ensureGenerationsBuilt()
}
