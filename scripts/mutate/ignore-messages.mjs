/**
 * A Stryker ignorer: the text of log lines and error messages is not behaviour. Mutating it yields hundreds
 * of mutants that only a test pinning every message could kill, and such tests break on every rewording.
 * What is ignored: the arguments of `log(…)`, `….log(…)`, `console.*(…)`, `problems.push(…)`, and of
 * `new …Error(…)` (the class of an error is behaviour and stays mutated; its message is not).
 */
import { PluginKind, declareValuePlugin } from '@stryker-mutator/api/plugin'

const consoleMethods = new Set(['log', 'info', 'warn', 'error', 'debug'])

/** The name a callee ends in: `log` for `log(…)`, `deps.log(…)` and `this.log(…)`. */
function calleeName(callee) {
  if (callee.type === 'Identifier') return callee.name
  if (callee.type === 'MemberExpression' && !callee.computed && callee.property.type === 'Identifier') return callee.property.name
  return null
}

function isMessageCall(node) {
  if (node.type === 'NewExpression') return /Error$/.test(calleeName(node.callee) ?? '')
  if (node.type !== 'CallExpression') return false
  const name = calleeName(node.callee)
  const object = node.callee.type === 'MemberExpression' ? node.callee.object : null
  if (name === 'log') return true
  if (object?.type === 'Identifier' && object.name === 'console' && consoleMethods.has(name)) return true
  return name === 'push' && object?.type === 'Identifier' && object.name === 'problems'
}

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, 'messages', {
    shouldIgnore(path) {
      const parent = path.parentPath
      if (parent === null || !isMessageCall(parent.node)) return undefined
      if (!parent.node.arguments.includes(path.node)) return undefined
      return 'the text of a log line or an error message (see scripts/mutate/ignore-messages.mjs)'
    },
  }),
]
