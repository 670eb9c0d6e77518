import { defineConfig } from "vite";

const generated = decodeURIComponent(new URL("../../gen/ts", import.meta.url).pathname);

// Fixed file names (no content hashes): the edge serves each built file on its own route, generated from
// the list of files in dist/, so the Envoy config only changes when a file is added or removed.
export default defineConfig({
  base: "/",
  resolve: {
    alias: { "@gen": generated },
    // gen/ts/ lies outside this folder: its imports of the runtime resolve from here.
    dedupe: ["@bufbuild/protobuf"],
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    modulePreload: false,
    rollupOptions: {
      output: {
        entryFileNames: "assets/app.js",
        chunkFileNames: "assets/[name].js",
        assetFileNames: "assets/[name][extname]",
      },
    },
  },
  server: {
    // `npm run dev`: the API calls go to the edge of a running stack (`make run`).
    proxy: { "^/(marketplace\\.|v1/)": { target: "http://127.0.0.1:8080", changeOrigin: false } },
    fs: { allow: [".", generated] },
  },
});
