import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

const page = (name: string) => fileURLToPath(new URL(`./demo/${name}.html`, import.meta.url))

export default defineConfig({
  root: fileURLToPath(new URL('./demo', import.meta.url)),
  build: {
    // dist/ is the library's (npm run build); the demo builds beside it.
    outDir: fileURLToPath(new URL('./build/demo', import.meta.url)),
    emptyOutDir: true,
    rollupOptions: { input: { index: page('index'), tutor: page('tutor'), reels: page('reels') } },
  },
  worker: { format: 'es' },
  server: {
    proxy: { '/api': 'http://127.0.0.1:8000', '/avatars': 'http://127.0.0.1:8000', '/ws': { target: 'ws://127.0.0.1:8000', ws: true } },
  },
})
