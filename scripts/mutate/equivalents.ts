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
  /** `code` is the whole line (trimmed): for a line that is also a piece of others. */
  whole?: boolean
  /**
   * The source the mutant replaces: for a half of `a || b` that Stryker reports at the same place, mutator and
   * replacement as the whole condition.
   */
  original?: string
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
    file: 'core/host.ts', mutator: 'ConditionalExpression', code: "await unplace(tab, identity.type === 'signed-out' ? 'gone' : 'identity', oldKey)", replacement: 'false',
    why: "a relayed sign-out reached the owner first, which closed the session and signed every tab out: the detach that follows finds the tab without a session, whatever its reason; so does a local tab the hub signed out already (another tab's sign-out) that signs in again; a tab with no route has nothing to detach",
  },
  {
    file: 'core/host.ts', mutator: 'StringLiteral', code: "await unplace(tab, identity.type === 'signed-out' ? 'gone' : 'identity', oldKey)",
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
  ...[{ mutator: 'ConditionalExpression', replacement: 'false' }, { mutator: 'OptionalChaining', replacement: 'roles.get(key).type' }].map(({ mutator, replacement }) => ({
    file: 'core/host.ts', mutator, code: "if (roles.get(key)?.type !== 'owner') throw new HubWorkerLostError", replacement,
    why: "a host hears its profile's owner channel only while it owns the socket: owning() opens the channel as the role becomes owner, released() and giveWay() close it in the same turn as the role goes, and a closed BroadcastChannel delivers nothing more",
  })),
  {
    file: 'core/host.ts', mutator: 'BooleanLiteral', code: 'if (remote !== undefined) disposeRemote(remote, false)', replacement: 'true',
    why: "the relayed detach let the tab go from the hub a few microtasks before: detaching it again finds nothing, as no attach runs in between (an attach is a task of its own: a channel or port message, then a lock grant)",
  },
  {
    file: 'core/host.ts', mutator: 'ConditionalExpression', code: 'if (remotes.get(remote.id) !== remote) return', replacement: 'false',
    why: "only a Web Lock granted before an older attach was let go reaches a remote tab no longer current: its tab is dead, and its newer attach is let go at once instead of when the lock passes on, with the same detach",
  },
  ...['ObjectLiteral', 'StringLiteral'].map((mutator) => ({
    file: 'core/host.ts', mutator, code: "route: { type: 'none' },",
    why: "the first route is replaced before it is read as 'none': a request waits for the attach's place(), which sets it (or unplace() did, the tab having left), and every other reader asks only whether it is local or remote",
  })),
  {
    file: 'core/host.ts', mutator: 'ArrayDeclaration', code: "else void onRoute(tab, 'resync', [])",
    why: "the owner's resync of a relayed tab takes no arguments",
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
  {
    file: 'core/connection.ts', mutator: 'ObjectLiteral', code: "let state: SocketState = { type: 'connecting', attempt: 0 }",
    why: 'connect() runs before createConnection returns and sets the state: this first value is never read',
  },
  {
    file: 'core/connection.ts', mutator: 'StringLiteral', code: "let state: SocketState = { type: 'connecting', attempt: 0 }",
    why: 'connect() runs before createConnection returns and sets the state: this first value is never read',
  },
  {
    file: 'core/connection.ts', mutator: 'ConditionalExpression', code: 'if (socket === null) return', replacement: 'false',
    why: 'only timers call abandon(), and every path that clears `socket` clears the timer first',
  },
  {
    file: 'core/connection.ts', mutator: 'ConditionalExpression', code: "if (frame.type === 'message' && now.ping !== null && frame.frameType === now.ping.answer) return", replacement: 'true',
    why: "only message frames have a frameType: another frame's is undefined, never the answer (text or null)",
  },
  {
    file: 'core/connection.ts', mutator: 'ConditionalExpression', code: "while (outbox.length > 0 && state.type === 'open') {", replacement: 'true',
    why: 'flushOutbox() runs only just after the state became open',
  },
  { file: 'core/connection.ts', mutator: 'ConditionalExpression', code: 'if (outboxTimer !== null) clock.clearTimeout(outboxTimer)', replacement: 'true', why: clearNull },
  {
    file: 'protocol/wire.ts', mutator: 'ConditionalExpression', code: 'if (text.length * 3 <= MAX_FRAME_BYTES) return text.length', replacement: 'false',
    why: 'a shortcut: text of at most a third of the limit in UTF-16 units is within it in UTF-8 too, and callers only compare with the limit',
  },
  {
    file: 'protocol/wire.ts', mutator: 'EqualityOperator', code: 'if (text.length * 3 <= MAX_FRAME_BYTES) return text.length',
    why: 'the limit (65,536) is not a multiple of 3: `text.length * 3` never equals it',
  },
  {
    file: 'protocol/wire.ts', mutator: 'StringLiteral', code: "return scheme === null ? true : /^https?$/i.test(scheme[1] ?? '')",
    why: "the pattern has one group, always matched when `scheme` is not null: `?? ''` only satisfies the type checker",
  },
  {
    file: 'core/connection.ts', mutator: 'ConditionalExpression', code: 'if (socket === null || socket.readyState !== OPEN) return false', replacement: 'false',
    why: 'write() is only called while the state is open or a timer of the current socket runs: `socket === null` is never true there (the readyState half is tested)',
  },
  {
    file: 'core/settings.ts', mutator: 'ConditionalExpression', code: "const frameOk = typeof ping === 'object' && ping !== null", replacement: 'true',
    why: "any other value's `.frame` is undefined (null is checked next), so the frame check refuses it the same",
  },
  {
    file: 'core/hub.ts', mutator: 'BooleanLiteral', code: 'anyVisible: false, inCalls: new Map()', replacement: 'true',
    why: "a session's first election runs with no tab (a handed-over call rings before its tab joins) or with its first tab as `also`, which hears its state regardless: either way it then holds the truth",
  },
  {
    file: 'core/hub.ts', mutator: 'BooleanLiteral', code: 'let wasOpen = false', replacement: 'true',
    why: 'the connection reports `connecting` as it is created, before any call rings: that report clears the flag and un-confirms no call',
  },
  {
    file: 'core/hub.ts', mutator: 'ArrayDeclaration', code: 'inCalls: new Map(), unheld: [],',
    why: 'a stray first entry names no call, and is the one shifted out when the list passes 64: the same frames are kept',
  },
  {
    file: 'core/hub.ts', mutator: 'ConditionalExpression', code: "} else if ((frame.type === 'ack' || frame.type === 'nack') && (frame.of === 'call_accepted'", replacement: 'true',
    why: 'invitation and end frames were routed before, and a message frame has no `of`: only an ack or a nack can name an answer',
  },
  {
    file: 'core/hub.ts', mutator: 'OptionalChaining', code: 'tab?.handle.push({ type: \'call-frame\'',
    why: 'the tab holding a call in progress is attached: its calls end when it leaves, and an answer confirmed after its tab left starts no call',
  },
  {
    file: 'core/hub.ts', mutator: 'ConditionalExpression', code: 'const call = key === null ? undefined : session.calls.get(key)', replacement: 'false',
    why: 'no call is keyed null: the lookup finds nothing either way',
  },
  {
    file: 'core/hub.ts', mutator: 'ConditionalExpression', code: 'if (key === null || call === undefined || answering == null', replacement: 'false',
    why: '`answering` is `call?.answering`: without a key or a call it is undefined, and `answering == null` decides the same',
  },
  {
    file: 'core/hub.ts', mutator: 'LogicalOperator', code: 'if (key === null || call === undefined || answering == null',
    why: '`answering` is `call?.answering`: without a key or a call it is undefined, and `answering == null` decides the same',
  },
  {
    file: 'core/hub.ts', mutator: 'ConditionalExpression', code: 'if (call.answering?.timer !== timer) return',
    why: 'whatever clears `call.answering` clears its timer too (an ack or nack, a drop, a settle), so the timer fires only for its own answer',
  },
  {
    file: 'core/hub.ts', mutator: 'OptionalChaining', code: 'if (call.answering?.timer !== timer) return',
    why: 'whatever clears `call.answering` clears its timer too (an ack or nack, a drop, a settle), so the timer fires only for its own answer',
  },
  {
    file: 'core/hub.ts', mutator: 'ConditionalExpression', code: 'if (session == null || call === undefined) {', replacement: 'false',
    why: '`call` is `session?.calls.get(key)`: undefined without a session, so `call === undefined` decides the same',
  },
  {
    file: 'core/hub.ts', mutator: 'ConditionalExpression', code: 'if (!oldest.done) session.ended.delete(oldest.value)', replacement: 'true',
    why: 'the map holds over 512 entries there: its first key exists',
  },
  {
    file: 'core/hub.ts', mutator: 'ConditionalExpression', code: 'if (request.online !== online) this.setOnline(request.online)', replacement: 'true',
    why: 'setOnline ignores the value the hub already has',
  },
  {
    file: 'core/hub.ts', mutator: 'ConditionalExpression', code: 'if (call === undefined) return', replacement: 'false',
    why: 'each caller passes a key it just found (endInCall and hangUp: in the calls in progress; settle: in the ringing calls; expire: its timer is cleared whenever its call leaves them)',
  },
  {
    file: 'core/hub.ts', mutator: 'ConditionalExpression', code: 'if (invitation === null) return', replacement: 'false',
    why: 'settle returns null only for a call it cannot find, and both callers (expire, an ack) just found it',
  },
  {
    file: 'core/hub.ts', mutator: 'ConditionalExpression', code: 'if (session.tabs.size === 0) closeSession(session, `no tab for', replacement: 'true',
    why: 'a tab that joins clears the linger timer, so when it fires no tab is there',
  },
  {
    file: 'core/hub.ts', mutator: 'BlockStatement', code: '} catch {',
    why: 'sessionSend: with the catch emptied, the object check that follows throws the same InvalidInputError; reasonOf: it parses text the parser already parsed, which cannot throw',
  },
  {
    file: 'core/hub.ts', mutator: 'ConditionalExpression', code: "return typeof reason === 'string' ? reason.slice(0, 100) : null", replacement: 'true',
    why: 'a reason that is not a string has no `slice`: the TypeError is caught below and gives null all the same',
  },
  ...['ObjectLiteral', 'StringLiteral', 'ConditionalExpression'].map((mutator) => ({
    file: 'core/hub.ts', mutator, code: "if (session === null) return { type: 'closed', reason: 'signed out'",
    why: 'unreachable: a tab with a profile always has a session (join gives it one; sign-out changes the identity, and detach and hand-over forget the tab)',
  })),
  ...['ConditionalExpression', 'LogicalOperator', 'StringLiteral'].map((mutator) => ({
    file: 'client/link.ts', mutator, code: "if (state.type === 'closed' || state.type === 'failed') return",
    why: 'lose() is reached only after its caller checked that the link is still on that connection or watch; closing or failing drops the connection and aborts the watch first',
  })),
  {
    file: 'client/link.ts', mutator: 'StringLiteral', code: "withTimeout('detach', requestTimeout",
    why: 'the label only names a timeout error that the courtesy detach swallows',
  },
  {
    file: 'core/host.ts', mutator: 'StringLiteral', code: "return Promise.resolve('owner')", replacement: '""',
    why: "claim() without a channel: place() finds the role it was given is not the role the host holds (the owner's, just set) and asks again, which answers 'owner'",
  },
  {
    file: 'core/host.ts', mutator: 'ConditionalExpression', code: 'if (outdated !== null) return place(tab)', whole: true, replacement: 'false',
    why: "place() after a claim: giving way clears every role, so the next line finds the role it was given gone and places the tab again, which tells it to reload the same way",
  },
  {
    file: 'core/host.ts', mutator: 'ConditionalExpression', code: 'if (outdated !== null) return', whole: true, replacement: 'false',
    why: 'only a message on a channel gives way, and giving way closes every channel the host listens on; nothing listens again after it (a lock granted after it is let go, the fallback owns nothing once outdated), and a closed BroadcastChannel delivers nothing, queued messages included',
  },
  {
    file: 'core/host.ts', mutator: 'ConditionalExpression', code: 'const stillUsed = [...locals.values()].some((tab) => ', replacement: 'true',
    original: "tab.route.type === 'remote'",
    why: "forget(): only a remote route has a key (`Route` types the others `key?: never`), so `tab.route.key === key` alone decides the same",
  },
]
