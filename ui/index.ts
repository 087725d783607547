/**
 * What a tab shows and plays: the dialog and the attention (ringtone, title, notifications). Loaded by the
 * client once the hub is up (or a call arrives), so a page pays for it only when it can be needed.
 */
import type { Settled } from '../protocol/port'
import type { CallLogId, Invitation } from '../protocol/wire'
import { createAttention } from './attention'
import type { Sound } from './attention'
import { createDialogLayer, defaultStrings } from './dialog'
import type { DialogStrings } from './dialog'

export interface UiOptions {
  modal: boolean
  strings: Partial<DialogStrings> | undefined
  container: HTMLElement | undefined
  avatarBase: string | undefined
  ringtone: string | false | undefined
  notifications: boolean | undefined
  onAccept: (callLogId: CallLogId) => Promise<unknown>
  onDecline: (callLogId: CallLogId) => Promise<unknown>
  onDismissMissed: (callLogId: CallLogId) => Promise<unknown>
  onSound: (sound: Sound) => void
}

export interface UiView {
  calls: ReadonlyMap<string, Invitation>
  missed: readonly Invitation[]
  ringer: boolean
  anyVisible: boolean
  sound: Sound
}

export interface Ui {
  render(view: UiView): void
  notice(settled: Settled): void
  dispose(): void
}

export function createUi(options: UiOptions): Ui {
  const { modal, strings, container, avatarBase, ringtone, notifications, onAccept, onDecline, onDismissMissed, onSound } = options
  const dialogs = modal ? createDialogLayer({ onAccept, onDecline, onDismissMissed, strings, container, avatarBase }) : null
  const attention = createAttention({
    ringtone,
    notifications,
    titleText: strings?.title ?? defaultStrings.title,
    notificationTitle: strings?.notification ?? defaultStrings.notification,
    onSound,
  })
  return {
    render(view) {
      // The dialog first: it is what a person needs to answer, whatever the ringtone or the title do. Neither
      // may throw into the host's delivery: the page's listeners still hear of every call.
      try {
        dialogs?.render({ calls: view.calls.values(), missed: view.missed, ringer: view.ringer, sound: view.sound })
      } catch (error) {
        console.error('[callhub] the dialog could not render:', error)
      }
      try {
        attention.update({ ringer: view.ringer, anyVisible: view.anyVisible, calls: view.calls })
      } catch (error) {
        console.error('[callhub] the ringtone, title or notification failed:', error)
      }
    },
    notice: (settled) => dialogs?.notice(settled),
    dispose() {
      attention.dispose()
      dialogs?.dispose()
    },
  }
}
