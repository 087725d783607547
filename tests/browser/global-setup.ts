import { ensureDemoBuilt, ensureGenerationsBuilt } from '../../server/build'
import { buildBarePage } from './bare-page'

/** The browser tests drive the built demo pages (and two deploys of them), built once when missing or stale, and a bare page. */
export default async function globalSetup(): Promise<void> {
  await ensureDemoBuilt()
  await ensureGenerationsBuilt()
  await buildBarePage()
}
