import type { Probe } from './probe'

declare global {
  interface Window {
    /** Set by the bench's init script in every bench page (see probe.ts). */
    benchProbe: Probe
  }
}
