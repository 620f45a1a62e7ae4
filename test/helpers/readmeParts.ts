// Where the generated parts of the README's "Tests generated from the statecharts" section sit:
// each pattern captures (text before, the generated lines, text after). Shared by the docs script
// (scripts/readme.ts), which rewrites the lines, and test/readme.test.ts, which compares them.

/** The code block of coverage lines, right after the sentence that introduces it. */
export const COVERAGE_BLOCK = /(against the machine definitions, and printed:\n\n```\n)((?:coverage .*\n)+)(```\n)/

/** The list of transitions exempt over TCP, right after the sentence that introduces it. */
export const EXEMPTION_LIST = /(Exempt over TCP \(`test\/model\/tcpExemptions\.ts`\):\n\n)((?:- .*\n)+)(\n)/
