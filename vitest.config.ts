import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // tfjs-wasm and onnxruntime each grab the two cores; running files one at a time keeps timings honest.
    fileParallelism: false,
  },
});
