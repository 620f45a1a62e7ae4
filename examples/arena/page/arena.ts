/**
 * The arena's page: joins over WebSocket (the page's own host, or `?ws=`), says Hello with
 * `?name=`, sends Ready (Space, Enter or the button) and Turn (arrows, WASD), draws the
 * arena from Board and Step, and lists every player with its seat (RoomState) and its connection
 * (Connections), with each change in a list beneath. It connects with `resume: true`: when its
 * connection is lost the panel shows its own client `dropped` while it dials again, and the
 * session, seat and every frame missed come back with the resume. `?heartbeat=` sets the client's own
 * heartbeat interval in ms (0: none, so the server's probe shows as heartbeatMissed).
 * Bundled by buildPage.ts into arena.js.
 */
import { type ClientStatus, connectWebSocket } from '../../../src/browser.js'
import type { ArenaHook, CanvasPixels, Change, PanelRow } from './arenaHook.js'
import { frame, parse } from '../arenaMessages.js'
import { ConnectionState, Direction, HelloSchema, Phase, ReadySchema, SeatState, TurnSchema, type Player } from '../gen/arena_pb.js'

const BACKGROUND = [0x1b, 0x20, 0x30] as const
/** One colour per slot. */
const COLOURS = ['#88c0d0', '#d08770', '#a3be8c', '#b48ead', '#ebcb8b', '#5e81ac', '#bf616a', '#8fbcbb']
const PHASE_NAMES: Record<Phase, string> = {
  [Phase.UNSPECIFIED]: 'connecting',
  [Phase.LOBBY]: 'lobby',
  [Phase.COUNTDOWN]: 'countdown',
  [Phase.PLAYING]: 'playing',
  [Phase.GAME_OVER]: 'gameOver',
}
const SEAT_NAMES: Record<SeatState, string> = {
  [SeatState.UNSPECIFIED]: '?',
  [SeatState.JOINED]: 'joined',
  [SeatState.READY]: 'ready',
  [SeatState.PLAYING]: 'playing',
  [SeatState.OUT]: 'out',
  [SeatState.DROPPED]: 'dropped',
}
const CONNECTION_NAMES: Record<ConnectionState, string> = {
  [ConnectionState.UNSPECIFIED]: '?',
  [ConnectionState.HANDSHAKE]: 'handshake',
  [ConnectionState.ACTIVE]: 'active',
  [ConnectionState.HEARTBEAT_MISSED]: 'heartbeatMissed',
  [ConnectionState.CLOSED]: 'closed',
  [ConnectionState.DETACHED]: 'detached',
}
const KEYS: Record<string, Direction> = {
  ArrowUp: Direction.UP,
  ArrowDown: Direction.DOWN,
  ArrowLeft: Direction.LEFT,
  ArrowRight: Direction.RIGHT,
  w: Direction.UP,
  s: Direction.DOWN,
  a: Direction.LEFT,
  d: Direction.RIGHT,
}

const params = new URLSearchParams(location.search)
const url = params.get('ws') ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`
const name = params.get('name') ?? `guest ${Math.floor(Math.random() * 1000)}`
const heartbeat = params.get('heartbeat')

const canvas = document.getElementById('arena') as HTMLCanvasElement
const context = canvas.getContext('2d', { willReadFrequently: true })!
const status = document.getElementById('status')!
const clientStatus = document.getElementById('client')!
const rows = document.querySelector('#players tbody')!
const changes = document.getElementById('changes')!

let me = ''
let width = 48
let height = 32
let cell = 12
let phase = Phase.UNSPECIFIED
let players: Player[] = []
const connections = new Map<string, ConnectionState>()
/** Occupied cells by slot, and each slot's head and whether it rides. */
let trails = new Map<number, number[]>()
let heads = new Map<number, { x: number; y: number; alive: boolean }>()
/** The last RoomState's countdown and winner, to show again after a resume. */
let shownRoom = { seconds: 0, winner: '' }
/** Steps seen in this round. */
let steps = 0
/** What the panel last showed of each player, to list what changed. */
const shown = new Map<string, { seat: string; connection: string }>()

const client = await connectWebSocket(heartbeat === null ? { url, resume: true } : { url, heartbeatInterval: Number(heartbeat), resume: true })
showClient(client.status)
client.onStatus(showClient)
client.send(frame(HelloSchema, { name }))
client.closed.then((reason) => {
  document.body.dataset.phase = 'closed'
  status.textContent = `disconnected: ${reason}`
})

/** This page's own connection, beside the panel: the server cannot say it is dropped while it is. */
function showClient(state: ClientStatus): void {
  clientStatus.textContent = state
  clientStatus.dataset.state = state
  logChange(me, name, 'client', state)
  if (state === 'dropped') status.textContent = 'connection lost: coming back…'
  else if (state === 'open' && phase !== Phase.UNSPECIFIED) showStatus(shownRoom.seconds, shownRoom.winner)
}

client.onMessage((raw) => {
  const message = parse(raw)
  if (message === null) return
  switch (message.$typeName) {
    case 'zerostate.arena.v1.Welcome':
      me = message.playerId
      width = message.width
      height = message.height
      cell = Math.max(4, Math.floor(Math.min(576 / width, 384 / height)))
      canvas.width = width * cell
      canvas.height = height * cell
      break
    case 'zerostate.arena.v1.Board':
      trails = new Map(message.trails.map((trail) => [trail.slot, [...trail.cells]]))
      heads = new Map()
      break
    case 'zerostate.arena.v1.Step':
      steps++
      for (const cycle of message.cycles) {
        const trail = trails.get(cycle.slot) ?? []
        const at = cycle.y * width + cycle.x
        if (trail.at(-1) !== at) trail.push(at)
        trails.set(cycle.slot, trail)
        heads.set(cycle.slot, { x: cycle.x, y: cycle.y, alive: cycle.alive })
      }
      break
    case 'zerostate.arena.v1.RoomState':
      if (message.phase === Phase.PLAYING && phase !== Phase.PLAYING) {
        trails = new Map()
        heads = new Map()
        steps = 0
      }
      phase = message.phase
      players = message.players
      shownRoom = { seconds: message.seconds, winner: message.winner }
      showStatus(message.seconds, message.winner)
      break
    case 'zerostate.arena.v1.Connections':
      for (const connection of message.connections) connections.set(connection.id, connection.state)
      break
    default:
      return
  }
  showPlayers()
  draw()
})

function showStatus(seconds: number, winner: string): void {
  const phaseName = PHASE_NAMES[phase]
  document.body.dataset.phase = phaseName
  const mine = players.find((player) => player.id === me)
  const count = players.length
  if (phase === Phase.LOBBY) {
    status.textContent = mine?.seat === SeatState.READY ? `ready: waiting for the others (${count} here)` : `lobby: press Space when ready (${count} here)`
  } else if (phase === Phase.COUNTDOWN) {
    status.textContent = `starting in ${seconds}…`
  } else if (phase === Phase.PLAYING) {
    status.textContent = mine?.seat === SeatState.OUT ? 'out! watching the others' : mine?.seat === SeatState.PLAYING ? 'ride!' : 'watching this round'
  } else if (phase === Phase.GAME_OVER) {
    const who = players.find((player) => player.id === winner)
    status.textContent = who === undefined ? 'game over: a draw' : `game over: ${who.id === me ? 'you win' : `${who.name} wins`}`
  }
}

function showPlayers(): void {
  const fragment = document.createDocumentFragment()
  for (const player of players) {
    const seat = SEAT_NAMES[player.seat]
    const connection = CONNECTION_NAMES[connections.get(player.id) ?? ConnectionState.UNSPECIFIED]
    const row = document.createElement('tr')
    row.dataset.player = player.id
    row.dataset.name = player.name
    row.dataset.seat = seat
    row.dataset.connection = connection
    row.dataset.slot = String(player.slot)
    if (player.id === me) row.className = 'me'
    const swatch = Object.assign(document.createElement('span'), { className: 'swatch' })
    swatch.style.background = COLOURS[player.slot % COLOURS.length]!
    const cells = [swatch, `${player.name}${player.id === me ? ' (you)' : ''}`, seat, connection, String(player.wins)]
    cells.forEach((content, index) => {
      const td = document.createElement('td')
      if (index === 2) Object.assign(td, { className: 'seat' }).dataset.state = seat
      if (index === 3) Object.assign(td, { className: 'connection' }).dataset.state = connection
      td.append(content)
      row.append(td)
    })
    fragment.append(row)
    const before = shown.get(player.id)
    if (before?.seat !== seat) logChange(player.id, player.name, 'seat', seat)
    if (before?.connection !== connection && connection !== '?') logChange(player.id, player.name, 'connection', connection)
    shown.set(player.id, { seat, connection: connection === '?' ? (before?.connection ?? '?') : connection })
  }
  rows.replaceChildren(fragment)
}

/** One line at the top of the changes list, which tests read by its data attributes. */
function logChange(player: string, playerName: string, what: Change['what'], state: string): void {
  const line = Object.assign(document.createElement('li'), { textContent: `${playerName}: ${what} ${state}` })
  Object.assign(line.dataset, { player, what, state })
  changes.prepend(line)
  while (changes.childElementCount > 40) changes.lastElementChild!.remove()
}

function draw(): void {
  context.fillStyle = '#1b2030'
  context.fillRect(0, 0, canvas.width, canvas.height)
  context.strokeStyle = '#262c3d'
  context.beginPath()
  for (let x = 0; x <= width; x += 4) context.rect(x * cell, 0, 0.5, canvas.height)
  for (let y = 0; y <= height; y += 4) context.rect(0, y * cell, canvas.width, 0.5)
  context.stroke()
  for (const [slot, trail] of trails) {
    const alive = heads.get(slot)?.alive ?? true
    context.globalAlpha = alive ? 0.75 : 0.35
    context.fillStyle = COLOURS[slot % COLOURS.length]!
    for (const at of trail) context.fillRect((at % width) * cell, Math.floor(at / width) * cell, cell, cell)
    context.globalAlpha = 1
    const head = trail.at(-1)
    if (head !== undefined && alive) {
      context.fillStyle = '#eceff4'
      context.fillRect((head % width) * cell + 2, Math.floor(head / width) * cell + 2, cell - 4, cell - 4)
    }
  }
}

function ready(): void {
  client.send(frame(ReadySchema))
}

document.getElementById('ready')!.addEventListener('click', ready)
addEventListener('keydown', (event) => {
  if (event.key === ' ' || event.key === 'Enter') {
    event.preventDefault()
    ready()
    return
  }
  const direction = KEYS[event.key.length === 1 ? event.key.toLowerCase() : event.key]
  if (direction === undefined) return
  event.preventDefault()
  client.send(frame(TurnSchema, { direction }))
})
draw()
function pixels(): CanvasPixels {
  const { data } = context.getImageData(0, 0, canvas.width, canvas.height)
  const trailColours = COLOURS.map((hex) => {
    const rgb = [1, 3, 5].map((at) => parseInt(hex.slice(at, at + 2), 16))
    // Trails are drawn at 75% over the background.
    return rgb.map((value, i) => 0.75 * value + 0.25 * BACKGROUND[i]!)
  })
  const bySlot = COLOURS.map(() => 0)
  let drawn = 0
  for (let i = 0; i < data.length; i += 4) {
    const pixel = [data[i]!, data[i + 1]!, data[i + 2]!]
    if (pixel.some((value, c) => value !== BACKGROUND[c])) drawn++
    trailColours.forEach((colour, slot) => {
      if (colour.every((value, c) => Math.abs(value - pixel[c]!) < 12)) bySlot[slot]!++
    })
  }
  return { total: data.length / 4, drawn, bySlot }
}

const hook: ArenaHook = {
  get me() {
    return me
  },
  get steps() {
    return steps
  },
  get phase() {
    return document.body.dataset.phase ?? ''
  },
  get status() {
    return status.textContent ?? ''
  },
  get client() {
    return clientStatus.dataset.state ?? ''
  },
  rows: () =>
    [...rows.querySelectorAll('tr')].map((row): PanelRow => ({
      id: row.dataset.player!,
      name: row.dataset.name!,
      seat: row.dataset.seat!,
      connection: row.dataset.connection!,
      slot: Number(row.dataset.slot),
      wins: Number(row.lastElementChild!.textContent),
    })),
  changes: () => [...changes.querySelectorAll('li')].reverse().map((item): Change => ({ player: item.dataset.player!, what: item.dataset.what as Change['what'], state: item.dataset.state! })),
  pixels,
}
Object.assign(globalThis, { arena: hook })
