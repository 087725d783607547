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
  let titleTimer: ReturnType<typeof setInterval> | null = null
  let originalTitle: string | null = null
  let awaitingAudio = false
  const shown = new Map<string, Notification>()

  function setSound(next: Sound): void {
    if (next === sound) return
    sound = next
    onSound(next)
  }

  // Autoplay policies refuse sound until the user interacts with the page: retry on the first gesture.
  const onGesture = () => {
    if (sound === 'blocked' && state.ringer && state.calls.size > 0) startRinging()
  }

  function startRinging(): void {
    if (ringtone === false) return
    if (typeof ringtone === 'string') {
      audioElement ??= Object.assign(new Audio(ringtone), { loop: true })
      const element = audioElement
      element.play().then(
        () => {
          // The call may have ended while play() was pending.
          if (state.ringer && state.calls.size > 0) setSound('playing')
          else element.pause()
        },
        (error: unknown) => {
          // AbortError: a pause() interrupted it because nothing rings any more; only NotAllowedError is a refusal.
          if (error instanceof DOMException && error.name === 'NotAllowedError' && state.ringer && state.calls.size > 0) setSound('blocked')
        },
      )
      return
    }
    audioContext ??= new AudioContext()
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
      if (state.ringer && state.calls.size > 0) ring(context)
    }
    context.addEventListener('statechange', onState)
    setTimeout(() => {
      if (context.state !== 'running' && state.ringer && state.calls.size > 0) setSound('blocked')
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
    if (ringTimer !== null) clearInterval(ringTimer)
    ringTimer = null
    audioElement?.pause()
    setSound('off')
  }

  function flashTitle(): void {
    const first = state.calls.values().next().value
    const shouldFlash = document.visibilityState === 'hidden' && first !== undefined
    if (!shouldFlash) {
      if (titleTimer !== null) clearInterval(titleTimer)
      titleTimer = null
      if (originalTitle !== null) document.title = originalTitle
      originalTitle = null
      return
    }
    if (titleTimer !== null) return
    originalTitle = document.title
    const calling = titleText(first)
    titleTimer = setInterval(() => {
      document.title = document.title === calling ? (originalTitle ?? '') : calling
    }, 1_000)
    document.title = calling
  }

  function notify(): void {
    for (const [key, notification] of shown) {
      if (!state.calls.has(key)) {
        notification.close()
        shown.delete(key)
      }
    }
    // Only the ringer notifies, and only when no tab is in view; one tag per call replaces any duplicate.
    // The permission is read last: in Chromium each read asks the browser process (~0.1 ms).
    if (!notifications || !state.ringer || state.anyVisible || state.calls.size === shown.size) return
    if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return
    for (const [key, call] of state.calls) {
      if (shown.has(key)) continue
      const notification = new Notification(notificationTitle(call), {
        body: call.from.name, tag: `callhub:${key}`, icon: call.from.avatar ?? undefined, requireInteraction: true,
      })
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
      if (state.ringer && state.calls.size > 0) startRinging()
      else stopRinging()
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
