/**
 * The platform's chat widget as it was written: for a plain WebSocket on `window.chatWebSocket`. It knows
 * nothing of callhub; on the demo pages that socket is `hub.socket()`, the hub's one socket per profile.
 */
interface ChatMessage {
  type: 'chat_message'
  id: string | number
  from_profile_id: string | number
  from_profile_type: string
  from_name: string
  text: string
  sent_at: string
}

const contacts = [
  { label: 'Alice Abebe (tutor)', type: 'Tutor', id: 1 },
  { label: 'Alice Abebe (parent)', type: 'Parent', id: 1 },
  { label: 'Bob Bekele (student)', type: 'Student', id: 1 },
  { label: 'Carol Chala (tutor)', type: 'Tutor', id: 2 },
]

export function startChatWidget(root: HTMLElement): void {
  const socket = (window as unknown as { chatWebSocket: WebSocket }).chatWebSocket
  root.hidden = false
  root.innerHTML = `<h2>Chat</h2>
    <form class="chat-form">
      <label>To <select name="to">${contacts.map((contact, index) => `<option value="${index}">${contact.label}</option>`).join('')}</select></label>
      <label>Message <input name="text" autocomplete="off" maxlength="4000"></label>
      <button type="submit">Send</button>
      <span class="chat-state" aria-live="polite"></span>
    </form>
    <ol class="chat-log" role="log" aria-label="Chat messages"></ol>`
  const form = root.querySelector('form')!
  const log = root.querySelector('ol')!
  const state = root.querySelector<HTMLElement>('.chat-state')!
  const seen = new Set<string>()

  const showState = () => {
    state.textContent = socket.readyState === WebSocket.OPEN ? 'connected' : 'reconnecting…'
  }
  socket.onopen = showState
  socket.onclose = showState
  showState()
  socket.addEventListener('message', (event: MessageEvent) => {
    const data = JSON.parse(String(event.data)) as { type?: string }
    if (data.type !== 'chat_message') return
    const message = data as ChatMessage
    if (seen.has(String(message.id))) return
    seen.add(String(message.id))
    const item = document.createElement('li')
    item.textContent = `${message.from_name}: ${message.text}`
    item.dataset.messageId = String(message.id)
    log.append(item)
  })
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const data = new FormData(form)
    const contact = contacts[Number(data.get('to'))]!
    const text = String(data.get('text') ?? '').trim()
    if (text === '' || socket.readyState !== WebSocket.OPEN) return
    socket.send(JSON.stringify({ type: 'chat_message', to_profile_id: contact.id, to_profile_type: contact.type, text }))
    form.querySelector<HTMLInputElement>('input[name="text"]')!.value = ''
  })
}
