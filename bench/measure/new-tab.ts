/**
 * (d) A new tab's time to `open`: callhub's when its hub already holds the profile's socket (another tab
 * is open), in both modes (leader-tab: the new tab finds the tab that owns the socket over
 * BroadcastChannel), against the old design's page, which fetches /api/me and opens its own socket. All
 * count from the page's navigation start (and, to leave out loading the page's own script, from
 * `domInteractive`) to the moment the tab's connection is open with its auth frame sent. They take turns.
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

export const newTabComparators = ['callhub', 'leader-tab', 'per-tab'] as const

interface Party {
  comparator: Comparator
  context: BrowserContext
  samples: OpenReport[]
}

export async function measureNewTab(env: BenchEnv): Promise<NewTabResult[]> {
  const { plan, site } = env
  const parties: Party[] = []
  try {
    for (const comparator of newTabComparators) {
      const context = await env.context(comparator)
      parties.push({ comparator, context, samples: [] })
      // The tab that keeps callhub's hub connected (in leader-tab mode, the leader).
      if (comparator !== 'per-tab') await openTabs(context, site.paths[comparator], 1)
    }
    const openOne = async ({ comparator, context, samples }: Party) => {
      const [tab] = await openTabs(context, site.paths[comparator], 1)
      samples.push(await tab!.evaluate(() => window.benchProbe.whenOpen()))
      await tab!.close()
    }
    for (let repeat = 0; repeat < plan.newTabRepeats; repeat += 1) {
      // Rotate who goes first, so no comparator always follows the same one.
      for (let turn = 0; turn < parties.length; turn += 1) await openOne(parties[(repeat + turn) % parties.length]!)
    }
    return parties.map(({ comparator, samples }) => ({
      comparator,
      fromNavigation: percentiles(samples.map((sample) => sample.fromNavigation)),
      fromInteractive: percentiles(samples.map((sample) => sample.fromInteractive)),
    }))
  } finally {
    await Promise.all(parties.map((party) => party.context.close()))
  }
}
