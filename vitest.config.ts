import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // type-graphql (CommonJS) loads graphql's CJS build; ESM test files would otherwise
    // load graphql/index.mjs and fail with "another module or realm" (STACK-NOTES.md).
    alias: { graphql: "graphql/index.js" },
  },
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/support/setup.ts"],
    globalSetup: ["test/support/build.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // e2e files start whole gateways on ephemeral ports; forks isolate their singletons.
    pool: "forks",
  },
});
