/** Order statistics for the tables: nearest-rank percentiles. */

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!
}

export const median = (values: readonly number[]): number => percentile(values, 50)

export interface Percentiles {
  samples: number
  p50: number
  p95: number
  p99: number
}

export function percentiles(values: readonly number[]): Percentiles {
  return { samples: values.length, p50: percentile(values, 50), p95: percentile(values, 95), p99: percentile(values, 99) }
}

export const round = (value: number, digits = 2): number => Number(value.toFixed(digits))
