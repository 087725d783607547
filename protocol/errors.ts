/**
 * Every error callhub hands to a page, as classes the page can test with `instanceof`. They cross the port
 * (and the channel between hosts) as `{ name, message }` and are rebuilt here, so a class never degrades to a
 * plain `Error` with a name on the way (Comlink would do that to thrown values).
 */

/** The call is not ringing (any more): answered, declined, cancelled, expired, or never known here. */
export class CallNotRingingError extends Error {
  override name = 'CallNotRingingError'
}
/** The profile's socket is not open (or the backend has not accepted it yet): try again once it is. */
export class HubNotConnectedError extends Error {
  override name = 'HubNotConnectedError'
}
/** The tab is not attached to a hub (the hub restarted and forgot it; the client attaches again). */
export class TabNotAttachedError extends Error {
  override name = 'TabNotAttachedError'
}
/** The hub, or the backend through it, did not answer in time. */
export class HubTimeoutError extends Error {
  override name = 'HubTimeoutError'
}
/** The host running the hub (the shared worker, or the tab that owned the socket) died while a call to it was pending. */
export class HubWorkerLostError extends Error {
  override name = 'HubWorkerLostError'
}
/** The page closed its hub with `close()`. */
export class HubClosedError extends Error {
  override name = 'HubClosedError'
}
/** A frame given to `send` was not written: the outbox was full, it waited too long, or the profile signed out. */
export class MessageDroppedError extends Error {
  override name = 'MessageDroppedError'
}
/** The backend refused the token (a 4xx from `/api/me`, or a custom `fetchMe` that throws this). */
export class TokenRejectedError extends Error {
  override name = 'TokenRejectedError'
  constructor(readonly status: number, message = `[callhub] the backend answered ${status}: the token was rejected; sign in again`) {
    super(message)
  }
}
/** Anything given to callhub that it cannot use (a frame that is not JSON, an option out of range). */
export class InvalidInputError extends Error {
  override name = 'InvalidInputError'
}

const classes = {
  CallNotRingingError, HubNotConnectedError, TabNotAttachedError, HubTimeoutError, HubWorkerLostError, HubClosedError,
  MessageDroppedError, InvalidInputError,
} as const

export type HubErrorName = keyof typeof classes | 'TokenRejectedError'

/** An error as it crosses a port or a channel. */
export interface WireError {
  name: string
  message: string
}

/** The answer to every request across a port or a channel: nothing is thrown across a boundary. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: WireError }

export function toWire(error: unknown): WireError {
  if (error instanceof Error) return { name: error.name, message: error.message }
  return { name: 'Error', message: String(error) }
}

/** Rebuilds an error of its own class where callhub has one; anything else stays a plain `Error` with its name. */
export function fromWire(error: WireError): Error {
  if (error.name === 'TokenRejectedError') return new TokenRejectedError(0, error.message)
  const Class = Object.prototype.hasOwnProperty.call(classes, error.name) ? classes[error.name as keyof typeof classes] : null
  if (Class !== null) return new Class(error.message)
  return Object.assign(new Error(error.message), { name: error.name })
}

/** Runs `work` and reports its result or its error as an `Outcome`. */
export async function outcomeOf<T>(work: () => T | Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await work() }
  } catch (error) {
    return { ok: false, error: toWire(error) }
  }
}

/** The value of an `Outcome`, or its error rebuilt and thrown. */
export function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value
  throw fromWire(outcome.error)
}
