/**
 * The committed generated code is what `npm run proto` makes of examples/arena/proto today: the
 * same buf template, run into a temporary directory, gives the same files byte for byte. And
 * every message id the arena uses maps to one message type, and back.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, expect, it } from 'vitest'
import { ARENA_MESSAGES, arenaId, frame, parse } from '../../examples/arena/arenaMessages.js'
import { Direction, TurnSchema } from '../../examples/arena/gen/arena_pb.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const GEN = join(ROOT, 'examples/arena/gen')
const dirs: string[] = []
afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))))

it('the committed examples/arena/gen is what npm run proto generates', async () => {
  const out = await mkdtemp(join(tmpdir(), 'zerostate-proto-'))
  dirs.push(out)
  const script = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')).scripts.proto as string
  const [command, ...args] = script.split(' ')
  expect(command).toBe('buf')
  // As npm runs it: node_modules/.bin first on the PATH, so buf finds the protoc-gen-es plugin.
  const bin = join(ROOT, 'node_modules/.bin')
  await promisify(execFile)(join(bin, 'buf'), [...args, '--output', out], { cwd: ROOT, env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH}` } })
  const generated = join(out, 'examples/arena/gen')
  const names = (await readdir(generated)).sort()
  expect(names).toEqual((await readdir(GEN)).sort())
  for (const name of names) expect(await readFile(join(generated, name), 'utf8'), name).toBe(await readFile(join(GEN, name), 'utf8'))
}, 30_000)

it('maps each message id to one message type, and each type back to its id', () => {
  const types = Object.values(ARENA_MESSAGES).map((schema) => schema.typeName)
  expect(new Set(types).size).toBe(types.length)
  for (const [id, schema] of Object.entries(ARENA_MESSAGES)) expect(arenaId(schema)).toBe(Number(id))
  const turn = frame(TurnSchema, { direction: Direction.LEFT })
  expect(turn.id).toBe(3)
  expect(parse(turn)).toMatchObject({ $typeName: 'zerostate.arena.v1.Turn', direction: Direction.LEFT })
  expect(parse({ id: 4, data: new Uint8Array(0) })).toBeNull()
})
