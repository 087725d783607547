/**
 * (d) A new tab's time to `open`: callhub's when its hub already holds the profile's socket (another tab
 * is open), against the old design's page, which fetches /api/me and opens its own socket. Both count
 * from the page's navigation start (and, to leave out loading the page's own script, from `domInteractive`)
 * to the moment the tab's connection is open with its auth frame sent. The two take turns.
 */
import type { BrowserContext } from '@playwright/test'
import { openTabs } from '../browser'
import type { BenchEnv } from '../env'
import type { OpenReport } from '../pages/probe'
import type { Comparator } from '../site'
import { percentiles } from '../stats'
import type { Percentiles } from '../stats'

export interface NewTabResult {
  comparator: Comparator
  fromNavigation: Percentiles
  fromInteractive: Percentiles
}

export async function measureNewTab(env: BenchEnv): Promise<NewTabResult[]> {
  const { plan, site } = env
  const hubContext = await env.context('callhub')
  const oldContext = await env.context('per-tab')
  try {
    // The tab that keeps callhub's hub connected.
    await openTabs(hubContext, site.paths.callhub, 1)
    const samples: Record<'callhub' | 'per-tab', OpenReport[]> = { callhub: [], 'per-tab': [] }
    const openOne = async (context: BrowserContext, comparator: 'callhub' | 'per-tab') => {
      const [tab] = await openTabs(context, site.paths[comparator], 1)
      samples[comparator].push(await tab!.evaluate(() => window.benchProbe.whenOpen()))
      await tab!.close()
    }
    for (let repeat = 0; repeat < plan.newTabRepeats; repeat += 1) {
      if (repeat % 2 === 0) {
        await openOne(hubContext, 'callhub')
        await openOne(oldContext, 'per-tab')
      } else {
        await openOne(oldContext, 'per-tab')
        await openOne(hubContext, 'callhub')
      }
    }
    return (['callhub', 'per-tab'] as const).map((comparator) => ({
      comparator,
      fromNavigation: percentiles(samples[comparator].map((sample) => sample.fromNavigation)),
      fromInteractive: percentiles(samples[comparator].map((sample) => sample.fromInteractive)),
    }))
  } finally {
    await Promise.all([hubContext.close(), oldContext.close()])
  }
}
