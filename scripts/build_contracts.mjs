#!/usr/bin/env node
// Compile resources/contracts/**/*.sol with the pinned npm `solc` and write one JSON artifact per
// contract next to its source directory: resources/contracts/<Name>.json (testing/ contracts go to
// resources/contracts/testing/<Name>.json).
//
//   node scripts/build_contracts.mjs          # (re)build artifacts
//   node scripts/build_contracts.mjs --check  # exit 1 if committed artifacts differ from a fresh build
//   node scripts/build_contracts.mjs --contracts DIR  # build DIR/**/*.sol into DIR instead (a scratch
//                                                     # copy: scripts/mutation_check.py builds its mutants so)
//   node scripts/build_contracts.mjs --contracts DIR --fast  # the same without the optimizer and the IR
//                                                     # pipeline: the same behaviour, other bytecode, ten times
//                                                     # faster (the mutants); refused for the committed artifacts
//
// sourceHash = sha256 over the sorted .sol files: for each, "<relative posix path>\0<content>\0".
// tests/chain/test_artifacts.py computes the same hash in Python.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const solc = require('solc')

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const dirArg = process.argv.indexOf('--contracts')
const CONTRACTS = dirArg > 0 ? path.resolve(process.argv[dirArg + 1]) : path.join(ROOT, 'resources', 'contracts')
const NODE_MODULES = path.join(ROOT, 'node_modules')
const FAST = process.argv.includes('--fast')
if (FAST && dirArg < 0) throw new Error('--fast builds a scratch copy only (--contracts DIR)')

export const SETTINGS = {
  optimizer: { enabled: true, runs: 20000 },
  evmVersion: 'cancun',
  viaIR: true,
  metadata: { bytecodeHash: 'none' },
  outputSelection: {
    '*': {
      '': ['ast'],
      '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object', 'evm.deployedBytecode.immutableReferences'],
    },
  },
}

function listSources(dir, rel = '') {
  const out = []
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const relPath = rel ? `${rel}/${entry.name}` : entry.name
    if (entry.isDirectory()) out.push(...listSources(path.join(dir, entry.name), relPath))
    else if (entry.name.endsWith('.sol')) out.push(relPath)
  }
  return out.sort()
}

function sourceHash(files) {
  const h = createHash('sha256')
  for (const rel of files) {
    h.update(Buffer.from(rel, 'utf8'))
    h.update(Buffer.from([0]))
    h.update(fs.readFileSync(path.join(CONTRACTS, rel)))
    h.update(Buffer.from([0]))
  }
  return h.digest('hex')
}

// The AST ids of every state variable, by id: immutableReferences name variables by their id only.
function variableNames(output) {
  const names = new Map()
  const walk = (node) => {
    if (!node || typeof node !== 'object') return
    if (Array.isArray(node)) return node.forEach(walk)
    if (node.nodeType === 'VariableDeclaration' && node.stateVariable) names.set(String(node.id), node.name)
    for (const value of Object.values(node)) if (value && typeof value === 'object') walk(value)
  }
  for (const source of Object.values(output.sources || {})) walk(source.ast)
  return names
}

// Where each immutable's value sits in the runtime code, by the variable's name: the app fills them in to
// know the exact code a deployment must have (paygo_desktop/chain/canonical.py).
function namedImmutables(references, names) {
  const out = {}
  for (const [id, places] of Object.entries(references || {})) {
    const name = names.get(id)
    if (!name || name in out) throw new Error(`immutable ${id}: no unique name`)
    out[name] = places.map(({ start, length }) => ({ start, length }))
  }
  return Object.keys(out).length ? out : undefined
}

function findImports(importPath) {
  const candidate = path.join(NODE_MODULES, importPath)
  if (fs.existsSync(candidate)) return { contents: fs.readFileSync(candidate, 'utf8') }
  return { error: `not found: ${importPath}` }
}

function build() {
  const files = listSources(CONTRACTS)
  const hash = sourceHash(files)
  const sources = {}
  for (const rel of files) sources[rel] = { content: fs.readFileSync(path.join(CONTRACTS, rel), 'utf8') }
  const settings = FAST ? { ...SETTINGS, optimizer: { enabled: false }, viaIR: false } : SETTINGS
  const input = { language: 'Solidity', sources, settings }
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }))
  const errors = (output.errors || []).filter((e) => e.severity === 'error')
  for (const e of output.errors || []) {
    const file = e.sourceLocation?.file || ''
    if (e.severity === 'error' || !file.startsWith('@openzeppelin/')) console.error(e.formattedMessage)
  }
  if (errors.length) throw new Error(`solc reported ${errors.length} error(s)`)

  const ozVersion = JSON.parse(
    fs.readFileSync(path.join(NODE_MODULES, '@openzeppelin', 'contracts', 'package.json'), 'utf8'),
  ).version
  const names = variableNames(output)
  const artifacts = new Map()
  for (const rel of files) {
    const dir = path.posix.dirname(rel)
    for (const [name, c] of Object.entries(output.contracts[rel] || {})) {
      const bytecode = c.evm.bytecode.object
      if (!bytecode) continue // interfaces / abstract contracts
      const artifact = {
        contractName: name,
        sourceName: rel,
        abi: c.abi,
        bytecode: '0x' + bytecode,
        deployedBytecode: '0x' + c.evm.deployedBytecode.object,
        immutables: namedImmutables(c.evm.deployedBytecode.immutableReferences, names),
        compilerVersion: solc.version(),
        settings: { optimizer: settings.optimizer, evmVersion: settings.evmVersion, metadata: settings.metadata },
        openzeppelinVersion: ozVersion,
        sourceHash: hash,
      }
      const out = path.join(CONTRACTS, dir === '.' ? '' : dir, `${name}.json`)
      artifacts.set(out, JSON.stringify(artifact, null, 2) + '\n')
    }
  }
  return artifacts
}

const check = process.argv.includes('--check')
const artifacts = build()
let stale = 0
for (const [file, text] of artifacts) {
  const rel = path.relative(ROOT, file)
  if (check) {
    const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null
    if (current !== text) {
      console.error(`stale artifact: ${rel}`)
      stale++
    }
  } else {
    fs.writeFileSync(file, text)
    console.log(`wrote ${rel}`)
  }
}
if (check) {
  if (stale) process.exit(1)
  console.log(`all ${artifacts.size} artifacts up to date`)
}
