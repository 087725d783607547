/**
 * Timings and bounds that both sides of the port need: the page's client imports them from here, so it does
 * not pull in the hub itself (which only hosts run).
 */

/** How often tabs ping a host that cannot watch their Web Locks, and how long a silent tab is kept. */
export const TAB_PING_INTERVAL = 5_000
export const TAB_SILENCE_LIMIT = 20_000
/** The outbox holds at most this many frames… */
export const OUTBOX_FRAMES = 100
/** …of at most this many characters in all… */
export const OUTBOX_BYTES = 1024 * 1024
/** …each for at most this long while the socket is down. */
export const OUTBOX_WAIT = 30_000
