import { ensureDemoBuilt } from '../../server/build'

/** The browser tests drive the built demo pages: build them once, when missing or stale. */
export default async function globalSetup(): Promise<void> {
  await ensureDemoBuilt()
}
