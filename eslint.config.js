import js from "@eslint/js";
import tseslint from "typescript-eslint";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";

export default tseslint.config(
  {
    ignores: [
      "node_modules",
      "build",
      "tmp",
      "test-results",
      "prisma/postgres/generated",
      "bench/results",
      // Built from app/storefront/script/slice.js (dev/extension-build.ts).
      "extensions/slice-storefront/assets/slice.js",
      "extensions/slice-storefront/assets/slice-draw.js",
      // The pixel's bundle, built by `npm run build` (dev/pixel-build.ts; not committed).
      "extensions/slice-pixel/dist",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.{ts,tsx}"],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    plugins: { "react-hooks": reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "no-console": "off",
    },
  },
  {
    // The engine is pure: no Remix, Prisma, Shopify or Node imports (time is a parameter).
    files: ["app/engine/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: ["@remix-run/*", "@prisma/*", "@shopify/*", "node:*", "../*.server", "../**/*.server"] },
      ],
    },
  },
  {
    files: ["**/*.{js,mjs}"],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    files: ["app/storefront/script/*.js"],
    languageOptions: { globals: { ...globals.browser } },
  },
);
