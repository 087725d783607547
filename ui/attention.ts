import type { Invitation } from '../protocol/wire'

/** What a tab does to be noticed while calls ring: ringtone, title flashing, system notification. */
export type Sound = 'off' | 'playing' | 'blocked'

export interface AttentionOptions {
  /** A ringtone URL, or false for silence. @default a tone generated with Web Audio */
  ringtone?: string | false
  /** Show a system notification when no tab of the profile is visible (only if permission was granted). @default true */
  notifications?: boolean
  titleText: (invitation: Invitation) => string
  notificationTitle: (invitation: Invitation) => string
  onSound: (sound: Sound) => void
}

export interface AttentionState {
  /** This tab is the profile's one ringer. */
  ringer: boolean
  /** Some tab of the profile is visible. */
  anyVisible: boolean
  /** The ringing calls by call key (read, never copied: a burst of calls must stay linear). */
  calls: ReadonlyMap<string, Invitation>
}

export interface Attention {
  update(state: AttentionState): void
  dispose(): void
}

const RING_PERIOD = 3_000
/** How long a new AudioContext may take to start before the tab says sound is blocked. */
const AUTOPLAY_GRACE = 400
/** System notifications shown at once: the newest calls' (a flood must not become a thousand notifications). */
const MAX_NOTIFICATIONS = 3
const FLASH_PERIOD = 1_000

/** Two short bursts of 440 + 480 Hz, like a phone, scheduled on the audio clock. */
function ringOnce(context: AudioContext): void {
  const start = context.currentTime
  const gain = context.createGain()
  gain.gain.value = 0.08
  gain.connect(context.destination)
  for (const offset of [0, 0.6]) {
    for (const frequency of [440, 480]) {
      const oscillator = context.createOscillator()
      oscillator.frequency.value = frequency
      oscillator.connect(gain)
      oscillator.start(start + offset)
      oscillator.stop(start + offset + 0.4)
    }
  }
}

export function createAttention(options: AttentionOptions): Attention {
  const { ringtone, notifications = true, titleText, notificationTitle, onSound } = options
  let sound: Sound = 'off'
  let state: AttentionState = { ringer: false, anyVisible: true, calls: new Map() }
  let audioContext: AudioContext | null = null
  let audioElement: HTMLAudioElement | null = null
  let ringTimer: ReturnType<typeof setInterval> | null = null
  /** A start of the ringtone queued for its own task (see `update`). */
  let ringStart: ReturnType<typeof setTimeout> | null = null
  let titleTimer: ReturnType<typeof setInterval> | null = null
  /** The page's own title while this tab flashes its title; null when it does not. */
  let pageTitle: string | null = null
  /** The title as this tab last wrote it (read back: the document normalises whitespace). */
  let writtenTitle: string | null = null
  let awaitingAudio = false
  /** Set once the browser showed it cannot do something (no Web Audio, no constructible Notification): said once, not retried. */
  let noAudio = false
  let noNotifications = false
  const shown = new Map<string, Notification>()

  const ringing = () => state.ringer && state.calls.size > 0

  function setSound(next: Sound): void {
    if (next === sound) return
    sound = next
    onSound(next)
  }

  // Autoplay policies refuse sound until the user interacts with the page: retry on the first gesture.
  const onGesture = () => {
    if (sound === 'blocked' && ringing()) startRinging()
  }

  function startRinging(): void {
    if (ringtone === false) return
    if (typeof ringtone === 'string') {
      audioElement ??= Object.assign(new Audio(ringtone), { loop: true })
      const element = audioElement
      element.play().then(
        () => {
          // The call may have ended while play() was pending.
          if (ringing()) setSound('playing')
          else element.pause()
        },
        (error: unknown) => {
          // AbortError: a pause() interrupted it because nothing rings any more; only NotAllowedError is a refusal.
          if (error instanceof DOMException && error.name === 'NotAllowedError' && ringing()) setSound('blocked')
        },
      )
      return
    }
    if (audioContext === null) {
      if (noAudio) return
      try {
        audioContext = new AudioContext()
      } catch (error) {
        // No Web Audio here (an old or stripped-down browser): the dialog still shows, in silence.
        noAudio = true
        console.warn(`[callhub] no ringtone: this browser cannot play Web Audio (${String(error)}); pass \`ringtone\` a sound URL to use <audio>`)
        return
      }
    }
    const context = audioContext
    if (context.state === 'running') return ring(context)
    // A refused context stays suspended and its resume() never settles: wait a moment for it to run,
    // then say it is blocked; a gesture on the page resumes it and the ringing starts.
    void context.resume().catch(() => {})
    if (awaitingAudio) return
    awaitingAudio = true
    const onState = () => {
      if (context.state !== 'running') return
      context.removeEventListener('statechange', onState)
      awaitingAudio = false
      if (ringing()) ring(context)
    }
    context.addEventListener('statechange', onState)
    setTimeout(() => {
      if (context.state !== 'running' && ringing()) setSound('blocked')
    }, AUTOPLAY_GRACE)
  }

  function ring(context: AudioContext): void {
    if (ringTimer === null) {
      ringOnce(context)
      ringTimer = setInterval(() => ringOnce(context), RING_PERIOD)
    }
    setSound('playing')
  }

  function stopRinging(): void {
    if (ringStart !== null) clearTimeout(ringStart)
    ringStart = null
    if (ringTimer !== null) clearInterval(ringTimer)
    ringTimer = null
    audioElement?.pause()
    setSound('off')
  }

  function writeTitle(text: string): void {
    document.title = text
    writtenTitle = document.title
  }

  /** A title other than the one this tab wrote is the page's own (an unread count, say): that is the one to restore. */
  function notePageTitle(): void {
    if (pageTitle !== null && document.title !== writtenTitle) pageTitle = document.title
  }

  function flashTitle(): void {
    const shouldFlash = document.visibilityState === 'hidden' && state.calls.size > 0
    if (!shouldFlash) {
      if (titleTimer !== null) clearInterval(titleTimer)
      titleTimer = null
      notePageTitle()
      if (pageTitle !== null) document.title = pageTitle
      pageTitle = null
      writtenTitle = null
      return
    }
    if (titleTimer !== null) return
    pageTitle = document.title
    let showsCall = true
    // The oldest ringing call, read at each flash: the title never names a call that already ended.
    const calling = () => {
      const first = state.calls.values().next().value
      return first === undefined ? (pageTitle ?? '') : titleText(first)
    }
    writeTitle(calling())
    titleTimer = setInterval(() => {
      notePageTitle()
      showsCall = !showsCall
      writeTitle(showsCall ? calling() : (pageTitle ?? ''))
    }, FLASH_PERIOD)
  }

  function notify(): void {
    // Only the ringer notifies, only when no tab is in view, and only for the newest few calls.
    const wanted = notifications && !noNotifications && state.ringer && !state.anyVisible ? newestKeys(state.calls, MAX_NOTIFICATIONS) : []
    for (const [key, notification] of shown) {
      if (!state.calls.has(key) || (wanted.length > 0 && !wanted.includes(key))) {
        notification.close()
        shown.delete(key)
      }
    }
    // The permission is read last: in Chromium each read asks the browser process (~0.1 ms).
    if (wanted.every((key) => shown.has(key))) return
    if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return
    for (const key of wanted) {
      const call = state.calls.get(key)
      if (call === undefined || shown.has(key)) continue
      let notification: Notification
      try {
        // One tag per call: the system replaces a duplicate rather than stacking it.
        notification = new Notification(notificationTitle(call), {
          body: call.from.name, tag: `callhub:${key}`, icon: call.from.avatar ?? undefined, requireInteraction: true,
        })
      } catch (error) {
        // Chrome on Android has the constructor but throws ("use ServiceWorkerRegistration.showNotification()").
        noNotifications = true
        console.warn(`[callhub] no system notifications: this browser cannot construct one (${String(error)})`)
        return
      }
      notification.onclick = () => {
        // The dialog of this tab shows the call: bring the tab forward.
        window.focus()
        notification.close()
      }
      shown.set(key, notification)
    }
  }

  addEventListener('pointerdown', onGesture, true)
  addEventListener('keydown', onGesture, true)
  document.addEventListener('visibilitychange', flashTitle)

  return {
    update(next) {
      state = next
      if (!ringing()) stopRinging()
      else if (ringStart === null) {
        // In a task of its own: the first \`new AudioContext()\` blocks for up to 130 ms on a loaded machine,
        // and the dialog of the call that started the ringing must not wait for it.
        ringStart = setTimeout(() => {
          ringStart = null
          if (ringing()) startRinging()
        }, 0)
      }
      flashTitle()
      notify()
    },
    dispose() {
      state = { ringer: false, anyVisible: true, calls: new Map() }
      stopRinging()
      flashTitle()
      notify()
      removeEventListener('pointerdown', onGesture, true)
      removeEventListener('keydown', onGesture, true)
      document.removeEventListener('visibilitychange', flashTitle)
      void audioContext?.close()
    },
  }
}

/** The keys of the last `count` entries of a map (its newest, for a map kept oldest first). */
function newestKeys<V>(map: ReadonlyMap<string, V>, count: number): string[] {
  return count <= 0 || map.size === 0 ? [] : [...map.keys()].slice(-count)
}
