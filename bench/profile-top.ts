/**
 * `tsx bench/profile-top.ts FILE.cpuprofile [N]`: the N functions with the most self time in a V8
 * CPU profile (from `npm run bench -- --cpu-prof`), to find what an actor design costs per frame.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
}

interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const [file, limitText] = process.argv.slice(2)
if (!file) {
  process.stderr.write('usage: tsx bench/profile-top.ts FILE.cpuprofile [N]\n')
  process.exit(2)
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
const limit = Number(limitText ?? 25)

// Self time per node: each sample's delta is charged to the node that was on top of the stack.
const selfUs = new Map<number, number>()
profile.samples.forEach((id, index) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)))

const byFunction = new Map<string, number>()
let total = 0
for (const node of profile.nodes) {
  const us = selfUs.get(node.id) ?? 0
  total += us
  const { functionName, url, lineNumber } = node.callFrame
  const where = url ? `${path.basename(url)}:${lineNumber + 1}` : ''
  const key = `${functionName || '(anonymous)'} ${where}`.trim()
  byFunction.set(key, (byFunction.get(key) ?? 0) + us)
}

const rows = [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, limit)
process.stdout.write(`total ${(total / 1000).toFixed(0)} ms sampled\n  self ms   share  function\n`)
for (const [name, us] of rows) {
  process.stdout.write(`${(us / 1000).toFixed(1).padStart(9)}  ${((us / total) * 100).toFixed(1).padStart(5)}%  ${name}\n`)
}
