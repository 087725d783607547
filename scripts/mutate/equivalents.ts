/**
 * Surviving mutants judged equivalent: no test through a public contract can tell them from the original,
 * because the behaviour is the same. `npm run mutate` fails on any survivor not listed here. Each entry names
 * the file, Stryker's mutator, a piece of the source line it mutates, and (where the line has several
 * mutants of that kind) the replacement; the README's "Mutation testing" section lists them with the same why.
 */
export interface Equivalent {
  file: string
  mutator: string
  /** A piece of the mutated line, enough to find it after edits elsewhere in the file. */
  code: string
  replacement?: string
  why: string
}

export const equivalents: Equivalent[] = []
