/**
 * Surviving mutants judged equivalent: no test through a public contract can tell them from the original,
 * because the behaviour is the same. `npm run mutate` lists every survivor not named here (and
 * `--strict` fails on them). Each entry names the file, Stryker's mutator, a piece of the source line it
 * mutates, and (where the line has several mutants of that kind) the replacement; the README's "Mutation
 * testing" section lists them with the same why.
 */
export interface Equivalent {
  file: string
  mutator: string
  /** A piece of the mutated line, enough to find it after edits elsewhere in the file. */
  code: string
  replacement?: string
  why: string
}

const clearNull = 'clearTimeout of null (no timer) does nothing, so clearing unconditionally is the same'

export const equivalents: Equivalent[] = [
  { file: 'core/connection.ts', mutator: 'ConditionalExpression', code: 'if (timer !== null) clock.clearTimeout(timer)', replacement: 'true', why: clearNull },
  { file: 'client/link.ts', mutator: 'ConditionalExpression', code: 'if (timer !== null) clock.clearTimeout(timer)', replacement: 'true', why: clearNull },
  { file: 'core/hub.ts', mutator: 'ConditionalExpression', code: 'if (session.linger !== null) clock.clearTimeout(session.linger)', replacement: 'true', why: clearNull },
  { file: 'core/hub.ts', mutator: 'ConditionalExpression', code: 'if (timer !== null) clock.clearTimeout(timer)', replacement: 'true', why: clearNull },
  { file: 'core/host.ts', mutator: 'ConditionalExpression', code: 'if (role.handover !== null) clock.clearTimeout(role.handover)', replacement: 'true', why: clearNull },
  {
    file: 'core/host.ts', mutator: 'UpdateOperator', code: 'const rid = ++nextRid', replacement: '--nextRid',
    why: "a relayed request's id only has to differ from this host's other ones: counting down does that as well",
  },
  {
    file: 'core/host.ts', mutator: 'StringLiteral', code: "resolve(granted ? 'owner' : 'follower')", replacement: '""',
    why: "claim's callers only ask whether the role is 'owner'; the follower role itself is set by follow()",
  },
  {
    file: 'core/host.ts', mutator: 'ConditionalExpression', code: 'if (channel === null) return', replacement: 'false',
    why: 'post() runs only for relaying (replies, requests, events of remote tabs, the takeover notice), which needs a channel: it is never null there',
  },
  {
    file: 'core/host.ts', mutator: 'ConditionalExpression', code: 'if (key !== null) checkHandover(key)', replacement: 'true',
    why: 'checkHandover(null) finds no role for a null key and returns: the guard only spares the call',
  },
  {
    file: 'core/host.ts', mutator: 'ConditionalExpression', code: "await unplace(tab, identity.type === 'signed-out' ? 'gone' : 'identity')", replacement: 'false',
    why: "a relayed sign-out reached the owner first, which closed the session and signed every tab out: the detach that follows finds the tab without a session, whatever its reason; a tab with no route has nothing to detach",
  },
  {
    file: 'core/host.ts', mutator: 'StringLiteral', code: "await unplace(tab, identity.type === 'signed-out' ? 'gone' : 'identity')",
    why: "emptying 'signed-out' or 'gone' changes only the reason of the detach after a sign-out, which finds no session (see the line's ConditionalExpression); emptying 'identity' is killed",
  },
  {
    file: 'core/host.ts', mutator: 'ConditionalExpression', code: 'if (role.watch !== null) clock.clearTimeout(role.watch)',
    why: "a follower's watch left running returns at its next check without arming again: its role is gone (the check's first line)",
  },
  {
    file: 'core/host.ts', mutator: 'EqualityOperator', code: 'if (role.watch !== null) clock.clearTimeout(role.watch)',
    why: "a follower's watch left running returns at its next check without arming again: its role is gone (the check's first line)",
  },
  {
    file: 'core/host.ts', mutator: 'StringLiteral', code: "reason: outdated ?? 'outdated'", replacement: '""',
    why: 'outdatedStatus() is called only once `outdated` is set',
  },
  {
    file: 'core/host.ts', mutator: 'OptionalChaining', code: 'locks?.request(`callhub:tab:${remote.id}`',
    why: 'a remote tab comes only over a channel, and a host has a channel only with Web Locks',
  },
  {
    file: 'protocol/wire.ts', mutator: 'ConditionalExpression', code: 'if (text.length > MAX_FRAME_BYTES) return text.length', replacement: 'false',
    why: 'a shortcut: text longer than the limit in UTF-16 units is longer in UTF-8 too, so counting it exactly decides the same',
  },
  {
    file: 'core/hub.ts', mutator: 'ConditionalExpression', code: "const reason = typeof frame === 'object' && frame !== null",
    why: 'reasonOf only reads frames the parser already accepted as JSON objects: the guard is never false',
  },
  {
    file: 'core/hub.ts', mutator: 'LogicalOperator', code: "const reason = typeof frame === 'object' && frame !== null",
    why: 'reasonOf only reads frames the parser already accepted as JSON objects: the guard is never false',
  },
  {
    file: 'core/connection.ts', mutator: 'ConditionalExpression', code: 'if (outbox.length === 1) armOutboxTimer()', replacement: 'true',
    why: 'arming again computes the same deadline, from the oldest frame',
  },
  {
    file: 'core/connection.ts', mutator: 'BooleanLiteral', code: 'accepted = false', replacement: 'true',
    why: 'going offline: the next socket comes only through connect(), which clears `accepted` before it exists',
  },
  {
    file: 'core/connection.ts', mutator: 'ConditionalExpression', code: 'if (next === online) return', replacement: 'false',
    why: 'the hub passes only changes (its own setOnline ignores repeats), and a repeat here reaches the state it is in',
  },
  {
    file: 'core/hub.ts', mutator: 'ConditionalExpression', code: 'if (next === online) return', replacement: 'false',
    why: 'a repeat only logs a line: each connection ignores a setOnline that changes nothing',
  },
  {
    file: 'core/hub.ts', mutator: 'ConditionalExpression', code: 'if (session.ringer === tab) session.ringer = null',
    why: 'the election that follows tells the new ringer either way; at most it repeats a `ringer` event the tab already holds, which the mirror drops',
  },
  {
    file: 'core/hub.ts', mutator: 'EqualityOperator', code: 'if (session.ringer === tab) session.ringer = null',
    why: 'the election that follows tells the new ringer either way; at most it repeats a `ringer` event the tab already holds, which the mirror drops',
  },
]
