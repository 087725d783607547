// SharedWorker `extendedLifetime` (Chrome 148+, whatwg/html#11600) is not in TypeScript's DOM lib yet.
interface WorkerOptions {
  extendedLifetime?: boolean
}
