import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// The build lands in dist/app, which the Go package embeds; dist itself
// keeps the committed placeholder page for binaries built without npm.
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist/app', emptyOutDir: true },
  // `npm run dev` talks to a running `chatlab dashboard` for its API.
  server: { proxy: { '/api': { target: 'http://127.0.0.1:7070', ws: true } } },
  test: {
    environment: 'jsdom',
    setupFiles: ['src/test-setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
  },
});
