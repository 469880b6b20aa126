import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';

// The Tauri shell embeds `dist/` at compile time (src-tauri/tauri.conf.json: build.frontendDist),
// so `npm run build` must run before `cargo build -p gerbang-app`.
export default defineConfig({
  plugins: [svelte()],
  // Tauri prints its own output; keep Vite's visible beside it.
  clearScreen: false,
  server: { port: 1420, strictPort: true },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // WebKitGTK 2.4x (Debian 12 and later) and current WebView2 both run ES2022.
    target: 'es2022',
  },
  // Component tests mount Svelte components in happy-dom: they need Svelte's browser build.
  resolve: process.env.VITEST ? { conditions: ['browser'] } : undefined,
  test: {
    // `@tauri-apps/api/mocks` installs its IPC mock on `window`, so tests need a DOM.
    environment: 'happy-dom',
    include: ['src/**/*.test.ts'],
  },
});
