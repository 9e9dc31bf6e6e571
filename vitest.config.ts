import { defineConfig } from "vitest/config";

// The database tests (*.server.test.ts) run twice: on SQLite and on PostgreSQL.
const shared = {
  setupFiles: ["dev/testing/setup.ts"],
  testTimeout: 60_000,
  hookTimeout: 120_000,
  pool: "forks" as const,
};

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          ...shared,
          name: "sqlite",
          include: ["app/**/*.test.ts", "dev/**/*.test.ts", "prisma/**/*.test.ts", "extensions/**/*.test.ts"],
          exclude: ["**/*.browser.test.ts"],
          globalSetup: ["dev/testing/global-setup.ts"],
          env: { SLICE_TEST_DB: "sqlite" },
        },
      },
      {
        test: {
          ...shared,
          name: "postgres",
          include: ["app/**/*.server.test.ts"],
          globalSetup: ["dev/testing/global-setup.ts"],
          env: { SLICE_TEST_DB: "postgres" },
        },
      },
      {
        test: {
          ...shared,
          name: "browser",
          include: ["**/*.browser.test.ts"],
          exclude: ["node_modules/**"],
          globalSetup: ["dev/testing/global-setup.ts"],
          env: { SLICE_TEST_DB: "sqlite" },
          testTimeout: 180_000,
        },
      },
    ],
  },
});
