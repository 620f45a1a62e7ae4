/**
 * What a room-tick costs zerostate's Room (and XState under it) alone, with no socket: 100 rooms of
 * 4 stub players, a machine that does nothing on `room.tick` and one that broadcasts a 64-byte
 * frame (as bench/rooms-server.ts does), ticked back to back in a tight loop and then at the real
 * 20 Hz for 5 s. The gap between the two is the price of cold caches at a game's cadence.
 *
 *   npx tsx bench/roomCadence.ts
 */
import { emit, setup } from 'xstate'
import { broadcast, type RoomEmitted, type RoomEvent, type RoomInput } from '../machines/index.js'
import { systemClock } from '../src/options.js'
import { Room, type RoomMember, type RoomType } from '../src/rooms/room.js'

const ROOMS = 100
const types = { events: {} as RoomEvent, input: {} as RoomInput, emitted: {} as RoomEmitted }
const machines = {
  noop: setup({ types }).createMachine({ on: { 'room.tick': {} } }),
  broadcast: setup({ types }).createMachine({
    on: { 'room.tick': { actions: emit(() => broadcast({ id: 10, data: new Uint8Array(64) })) } },
  }),
}

const host = { clock: systemClock, inspect: undefined, node: 'local', changed() {}, disposed() {}, unseated() {}, report(error: unknown) { throw error } }
let sink = 0
const member = (id: string): RoomMember => ({ id, userId: undefined, closeReason: null, send: () => true, queue: (frame) => ((sink += frame.length), true) })

for (const [name, machine] of Object.entries(machines)) {
  const type: RoomType = { name, machine, maxPlayers: 4, tickRate: 20, keepWhenEmpty: false, accepts: () => true, metadata: (options) => options }
  const rooms = Array.from({ length: ROOMS }, (_, r) => {
    const room = new Room(`r${r}`, type, {}, host)
    for (let p = 0; p < 4; p++) room.seat(member(`p${r}-${p}`), {}, false)
    return room
  })
  const tickAll = () => {
    const now = performance.now()
    for (const room of rooms) room.tick(now)
  }
  for (let i = 0; i < 500; i++) tickAll()
  const loops = 2_000
  const started = performance.now()
  for (let i = 0; i < loops; i++) tickAll()
  const hot = ((performance.now() - started) * 1000) / (loops * ROOMS)
  const before = process.cpuUsage()
  const timer = setInterval(tickAll, 50)
  await new Promise((resolve) => setTimeout(resolve, 5_000))
  clearInterval(timer)
  const used = process.cpuUsage(before)
  const cadence = (used.user + used.system) / (100 * ROOMS)
  console.log(`${name.padEnd(10)} µs per room-tick: ${hot.toFixed(2)} in a tight loop, ${cadence.toFixed(2)} at 20 Hz (CPU)`)
}
void sink
