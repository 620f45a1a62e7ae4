/**
 * docs/game.md stays true: its tables (flags, files, message ids), its chart, its excerpts, the
 * resume grace it quotes and the screenshot it shows are the repo's own, and the output it
 * quotes is what `npm run demo` and `npm start -- timeline` print (ids, ports and times aside). Whole-file quotes are checked by
 * test/docs.test.ts, the coverage figure by test/arena/model.test.ts.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { ARENA_MESSAGES, frame, isPlayerMessage } from '../examples/arena/arenaMessages.js'
import { arenaRoom } from '../examples/arena/arenaRoom.js'
import { DEMO_FLAGS, demoArgs } from '../examples/arena/demoArgs.js'
import { Direction, TurnSchema } from '../examples/arena/gen/arena_pb.js'
import { toMermaid } from '../src/mermaid.js'
import { REPO_ROOT } from '../stress/child.js'
import { waitFor } from './helpers/wait.js'

const doc = readFileSync(join(REPO_ROOT, 'docs/game.md'), 'utf8')
const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8')

/** The fenced block after `<!-- marker -->`. */
function block(marker: string): string {
  const match = new RegExp(`<!-- ${marker.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} -->\\n\`\`\`\\w*\\n([\\s\\S]*?)\`\`\`\\n`).exec(doc)
  if (match === null) throw new Error(`docs/game.md has no block <!-- ${marker} -->`)
  return match[1]!
}

/** The rows of the table after `<!-- marker -->`, each a list of cells, header and rule left out. */
function table(marker: string): string[][] {
  const start = doc.indexOf(`<!-- ${marker} -->\n`)
  expect(start, marker).toBeGreaterThan(-1)
  const lines = doc.slice(start).split('\n').slice(1)
  const rows = lines.slice(0, lines.findIndex((line) => !line.startsWith('|')))
  return rows.slice(2).map((row) => row.slice(1, -1).split(' | ').map((cell) => cell.trim()))
}

const code = (cell: string) => /^`([^`]*)`/.exec(cell)?.[1] ?? cell

describe('docs/game.md', () => {
  it('is linked from the README', () => {
    expect(read('README.md')).toContain('](docs/game.md)')
  })

  it('shows the screenshot scripts/arena-screenshot.ts makes', () => {
    expect(doc).toContain('](images/arena.png)')
    const png = readFileSync(join(REPO_ROOT, 'docs/images/arena.png'))
    expect([...png.subarray(1, 4)]).toEqual([...Buffer.from('PNG')])
    expect(read('scripts/arena-screenshot.ts')).toContain("new URL('../docs/images/arena.png', import.meta.url)")
    expect(JSON.parse(read('package.json')).scripts['demo:screenshot']).toBe('tsx scripts/arena-screenshot.ts')
  })

  it('draws the room chart as the machine has it', () => {
    expect(block('mermaid: arenaRoom')).toBe(`${toMermaid(arenaRoom)}\n`)
  })

  it('quotes excerpts that are in their files as they are', () => {
    const excerpts = [...doc.matchAll(/<!-- excerpt: (\S+) -->\n```\w*\n([\s\S]*?)```\n/g)]
    expect(excerpts.length).toBeGreaterThan(0)
    for (const [, path, body] of excerpts) expect(read(path!), path).toContain(body!)
  })

  it('lists every file of examples/arena', () => {
    const walk = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? walk(join(dir, entry.name)) : [relative(REPO_ROOT, join(dir, entry.name))]))
    expect(table('files').map(([file]) => code(file!)).sort()).toEqual(walk(join(REPO_ROOT, 'examples/arena')).sort())
  })

  it('lists the message ids arenaMessages.ts maps, and which of them go to the room', () => {
    const rows = table('message ids').map(([id, name]) => [Number(id), code(name!)] as const)
    expect(rows).toEqual(Object.entries(ARENA_MESSAGES).map(([id, schema]) => [Number(id), schema.name]))
    for (const [id, , direction] of table('message ids')) expect(isPlayerMessage({ id: Number(id), data: new Uint8Array(0) })).toBe(direction === 'player → room')
    expect(frame(TurnSchema, { direction: Direction.UP }).data).toHaveLength(2)
  })

  it("says how long a lost player keeps its seat: the demo's default --resume-grace", () => {
    const seconds = Number(DEMO_FLAGS['resume-grace'].default) / 1000
    expect(doc).toContain(`keeps its seat for ${seconds} seconds`)
    expect(doc).toContain(`(\`--resume-grace\`, ${seconds} s by default;`)
    expect(demoArgs([]).resumeGrace).toBe(seconds * 1000)
  })

  it('lists the flags npm run demo takes, with their defaults', () => {
    const documented = table('flags').map(([flag, value]) => [code(flag!).replace('[=port]', '').replace(/^--/, ''), code(value!)] as const)
    expect(documented.map(([name]) => name)).toEqual(Object.keys(DEMO_FLAGS))
    for (const [name, value] of documented) {
      const flag = DEMO_FLAGS[name as keyof typeof DEMO_FLAGS]
      if ('default' in flag) expect(value, name).toBe(flag.default)
    }
    const defaults = demoArgs(['--inspect'])
    expect([defaults.tcpPort, defaults.inspect]).toEqual([Number(DEMO_FLAGS.port.default) + 1, Number(documented.find(([name]) => name === 'inspect')![1])])
    expect(documented.find(([name]) => name === 'tcp-port')![1]).toBe('--port')
  })
})

describe('what docs/game.md says the commands print', () => {
  let dir = ''
  let child: ChildProcess | undefined
  const others: ChildProcess[] = []
  afterAll(async () => {
    for (const started of [child, ...others]) {
      if (started?.exitCode === null && started.signalCode === null && started.pid !== undefined) process.kill(-started.pid, 'SIGKILL')
    }
    if (dir !== '') await rm(dir, { recursive: true, force: true })
  })

  /** Ids, ports and times as placeholders: what stays the same from run to run. */
  const normal = (text: string) =>
    text
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<session>')
      .replace(/arena:[\w-]+/g, 'arena:<room>')
      .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:<port>')
      .replace(/^ *\+\d+ ms/gm, '  +<t> ms')

  it('npm run demo -- --bots 3 --inspect --inspect-file, a bot of its own, then npm start -- timeline', async () => {
    dir = await mkdtemp(join(tmpdir(), 'zerostate-game-doc-'))
    const file = join(dir, 'arena.jsonl')
    child = spawn('npm', ['run', '-s', 'demo', '--', '--port', '0', '--bots', '3', '--inspect=0', '--inspect-file', file], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
      env: { ...process.env, NODE_OPTIONS: '' },
    })
    let stdout = ''
    child.stdout!.setEncoding('utf8').on('data', (text: string) => (stdout += text))
    const exited = new Promise((resolve) => child!.once('exit', resolve))
    // One more bot, on its own, the way the docs run one.
    await waitFor(() => stdout.includes('bot(s) playing'), { timeout: 20_000, message: () => stdout })
    const tcpPort = /over TCP to 127\.0\.0\.1:(\d+)\)/.exec(stdout)![1]!
    const solo = spawn('npx', ['tsx', 'examples/arena/bot.ts', '--port', tcpPort, '--name', 'bot'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'], detached: true })
    others.push(solo)
    let soloOut = ''
    solo.stdout!.setEncoding('utf8').on('data', (text: string) => (soloOut += text))
    const soloExited = new Promise((resolve) => solo.once('exit', (code, signal) => resolve(code ?? signal)))
    await waitFor(() => soloOut.includes(`bot bot playing on 127.0.0.1:${tcpPort}\n`), { timeout: 20_000, message: () => soloOut })
    // The round starts after the three-second countdown: wait for the room's `playing` in the file.
    await waitFor(() => existsSync(file) && readFileSync(file, 'utf8').includes('"value":"playing"'), { timeout: 20_000, interval: 50, message: () => stdout })
    // The inspector relay's page is up where the demo says.
    const inspector = /^arena: watch every actor in the Stately inspector at (http:\/\/127\.0\.0\.1:\d+)$/m.exec(stdout)?.[1]
    expect(inspector, stdout).toBeDefined()
    expect((await fetch(inspector!)).status).toBe(200)
    // Ctrl-C, as a terminal sends it: to npx and the bot alike. The bot closes its connection
    // and exits 0; npx then ends itself with the signal it got.
    process.kill(-solo.pid!, 'SIGINT')
    expect(await soloExited).toBe('SIGINT')
    expect(soloOut).toMatch(/^bot closed: client-closed$/m)
    child.kill('SIGINT')
    expect(await exited).toBe(0)

    // The demo's start lines, with the documented ports for the ones picked.
    const lines = stdout.split('\n').filter((line) => line.startsWith('arena: ') && !/inspection written to|Stately inspector|stopping|stopped/.test(line))
    const [, web, tcp] = /http:\/\/127\.0\.0\.1:(\d+)\/.*127\.0\.0\.1:(\d+)\)/.exec(lines[0]!)!
    expect(`${lines.join('\n').replace(`:${web}/`, ':18800/').replace(`:${tcp})`, ':18801)')}\n`).toBe(block('output: demo'))

    // The timeline: the room's section holds every line the docs show, its states in that order.
    const { stdout: timeline } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'timeline', file], { cwd: REPO_ROOT })
    const sections = normal(timeline).split(/\n(?=\S)/)
    const room = sections.find((section) => section.startsWith('room '))!.split('\n')
    const documented = normal(block('output: timeline')).trimEnd().split('\n')
    for (const line of documented) expect(room, line).toContain(line)
    const states = (lines: string[]) => lines.filter((line) => /\+<t> ms {2}(lobby|countdown|playing)$/.test(line)).map((line) => line.split('  ').at(-1))
    expect(states(room).slice(0, 3)).toEqual(states(documented))
    const session = normal(block('output: timeline session')).trimEnd()
    expect(sections.filter((section) => section.startsWith('session ')).every((section) => section.startsWith(session))).toBe(true)
  }, 40_000)
})
