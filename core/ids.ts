/**
 * A random id. `crypto.randomUUID` exists only in secure contexts (https, localhost); on a plain-http page
 * `crypto.getRandomValues` still does, and is as good for ids that only need to be unique.
 */
export function newId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID()
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')
}
