// Builds the web UI into dist/webui, which the router and `corral -m` serve at /. Everything is bundled: the page
// loads nothing from the internet.
import { fileURLToPath } from "node:url";
import path from "node:path";
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  base: "./",
  plugins: [react()],
  logLevel: "warn",
  build: {
    outDir: process.env.CORRAL_WEBUI_OUT ?? path.join(here, "..", "dist", "webui"),
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
  },
});
