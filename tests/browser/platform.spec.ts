/**
 * The same pages against a backend like the platform's own: no socket auth (the URL alone identifies the
 * profile), no pong, no acks, integer ids, and no re-send of ringing calls after a reconnect — by options
 * alone. The demo adds a `recoverCalls` hook that asks `GET /api/calls?status=ringing` after each reconnect.
 */
import { startServer } from '../../server/server'
import { demoDir } from '../../server/build'
import { dialogFrom, expect, expectOpen, statusOf, test } from './fixtures'
import type { CallHubOptions } from '../../client'

const platform = test.extend({
  server: async ({}, use) => {
    const server = await startServer({ port: 0, staticDir: demoDir, log: () => {}, backend: 'platform' })
    await use(server)
    await server.close()
  },
})

const options: CallHubOptions = { backend: { authFrame: false, acks: false, ping: false, resends: false } }

platform('three tabs hold one socket without an auth frame; a call with integer ids rings in all, and Accept in one reaches the backend', async ({ signedIn, openTabs, api }) => {
  const alice = await signedIn('alice', options)
  const tabs = await openTabs(alice, 3)
  await expectOpen(tabs)
  expect(await api.stats()).toEqual({ 'Tutor:1': 1 })
  const bob = await api.login('bob')
  const { call_log_id } = await api.call(bob, 'Tutor:1')
  for (const tab of tabs) await expect(dialogFrom(tab, 'Bob Bekele')).toBeVisible()
  expect(await tabs[0]!.evaluate(() => typeof window.callHub.calls[0]?.callLogId)).toBe('number')
  await dialogFrom(tabs[1]!, 'Bob Bekele').getByRole('button', { name: 'Accept' }).click()
  await expect.poll(() => api.callStatus(bob, call_log_id)).toBe('accepted')
  for (const tab of tabs) await expect(tab.getByRole('dialog')).toHaveCount(0)
  // The socket carried no auth frame: the server counts any that reaches a socket the URL already admitted
  // (the accept came after, on the same socket, so one sent first would be counted by now).
  expect((await api.totals()).authIgnored).toEqual({})
})

platform('a call placed while the socket was down rings after the reconnect, through the hook; one cancelled meanwhile ends', async ({ signedIn, openTabs, api }) => {
  const alice = await signedIn('alice', options)
  const tabs = await openTabs(alice, 2)
  await expectOpen(tabs)
  const bob = await api.login('bob')
  const before = await api.call(bob, 'Tutor:1')
  for (const tab of tabs) await expect(dialogFrom(tab, 'Bob Bekele')).toBeVisible()
  const authenticatedBefore = (await api.totals()).authenticated['Tutor:1']!
  await api.drop()
  // While nobody is connected: one call is cancelled, another placed. The backend re-sends neither.
  expect(await api.cancel(bob, before.call_log_id)).toBe(200)
  const during = await api.call(bob, 'Tutor:1')
  await expect.poll(async () => (await api.totals()).authenticated['Tutor:1']).toBeGreaterThan(authenticatedBefore)
  for (const tab of tabs) {
    await expect.poll(() => tab.evaluate(() => window.callHub.calls.map((call) => call.callLogId))).toEqual([during.call_log_id])
  }
  expect((await statusOf(tabs[0]!)).type).toBe('open')
})
