/**
 * The arena's rules, as pure functions over plain data (so a room's context stays JSON-safe and
 * survives a snapshot): light cycles on a grid. Each cycle moves one cell per step and leaves a
 * wall behind it; a cycle that would move off the grid, onto any trail, or into the cell another
 * cycle moves into, is out. The last one riding wins; if the last ones crash together, it is a
 * draw.
 */

export type Heading = 'up' | 'down' | 'left' | 'right'

export interface ArenaSettings {
  /** Room ticks per second (the room type's `tickRate`). @default 20 */
  tickRate: number
  /** Cells across. @default 48 */
  width: number
  /** Cells down. @default 32 */
  height: number
  /** Room ticks per step of the cycles: at 20 Hz, 2 is ten cells a second. @default 2 */
  ticksPerStep: number
  /** Ticks from everyone ready to the start. @default 60 (3 s at 20 Hz) */
  countdownTicks: number
  /** Ticks the result stays up before the lobby. @default 60 */
  gameOverTicks: number
  /** Players needed (all of them ready) to start a round. @default 2 */
  minPlayers: number
}

export const DEFAULT_SETTINGS: Readonly<ArenaSettings> = Object.freeze({
  tickRate: 20,
  width: 48,
  height: 32,
  ticksPerStep: 2,
  countdownTicks: 60,
  gameOverTicks: 60,
  minPlayers: 2,
})

/** The most players a room seats: one starting place (and colour) each. */
export const MAX_PLAYERS = 8

export interface Rider {
  /** 0-7: starting place and colour. */
  slot: number
  x: number
  y: number
  heading: Heading
  /** Where the next step goes: the last turn asked for. */
  next: Heading
  alive: boolean
  /** Cells as y * width + x, the head last. */
  trail: number[]
}

export interface World {
  step: number
  riders: Rider[]
}

const DELTA: Readonly<Record<Heading, readonly [number, number]>> = {
  up: [0, -1],
  down: [0, 1],
  left: [-1, 0],
  right: [1, 0],
}

const OPPOSITE: Readonly<Record<Heading, Heading>> = { up: 'down', down: 'up', left: 'right', right: 'left' }

/** Rows of the starting places, in eighths of the height, for slots 0-1, 2-3, 4-5, 6-7. */
const ROWS = [3, 5, 1, 7] as const

/**
 * Riders at their starting places: even slots on the left heading right, odd slots on the right
 * heading left, pairs on rows spread over the height.
 */
export function spawn(slots: readonly number[], settings: Pick<ArenaSettings, 'width' | 'height'>): World {
  const { width, height } = settings
  const inset = Math.floor(width / 8)
  const riders = [...slots]
    .sort((a, b) => a - b)
    .map((slot): Rider => {
      const left = slot % 2 === 0
      const x = left ? inset : width - 1 - inset
      const y = Math.min(height - 1, Math.floor((ROWS[Math.floor(slot / 2) % ROWS.length]! * height) / 8))
      const heading: Heading = left ? 'right' : 'left'
      return { slot, x, y, heading, next: heading, alive: true, trail: [y * width + x] }
    })
  return { step: 0, riders }
}

/** The world with `slot`'s next step going `heading`; a turn straight back is ignored. */
export function steer(world: World, slot: number, heading: Heading): World {
  const rider = world.riders.find((candidate) => candidate.slot === slot)
  if (rider === undefined || !rider.alive || heading === OPPOSITE[rider.heading] || heading === rider.next) return world
  return { ...world, riders: world.riders.map((candidate) => (candidate === rider ? { ...rider, next: heading } : candidate)) }
}

/** One step of every riding cycle: the new world and the slots that crashed in it. */
export function advance(world: World, settings: Pick<ArenaSettings, 'width' | 'height'>): { world: World; crashed: number[] } {
  const { width, height } = settings
  const walls = new Set<number>()
  for (const rider of world.riders) for (const cell of rider.trail) walls.add(cell)
  const targets = new Map<number, { x: number; y: number; cell: number; wall: boolean }>()
  const claims = new Map<number, number>()
  for (const rider of world.riders) {
    if (!rider.alive) continue
    const [dx, dy] = DELTA[rider.next]
    const x = rider.x + dx
    const y = rider.y + dy
    const outside = x < 0 || y < 0 || x >= width || y >= height
    const cell = y * width + x
    targets.set(rider.slot, { x, y, cell, wall: outside || walls.has(cell) })
    if (!outside) claims.set(cell, (claims.get(cell) ?? 0) + 1)
  }
  const crashed: number[] = []
  const riders = world.riders.map((rider): Rider => {
    const target = targets.get(rider.slot)
    if (target === undefined) return rider
    if (target.wall || claims.get(target.cell)! > 1) {
      crashed.push(rider.slot)
      return { ...rider, heading: rider.next, alive: false }
    }
    return { ...rider, x: target.x, y: target.y, heading: rider.next, trail: [...rider.trail, target.cell] }
  })
  return { world: { step: world.step + 1, riders }, crashed }
}

/** The riders still riding. */
export function riding(world: World): Rider[] {
  return world.riders.filter((rider) => rider.alive)
}

/** A round is decided once at most one rider of the several who started still rides. */
export function decided(world: World): boolean {
  return riding(world).length <= 1
}
