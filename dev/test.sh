#!/usr/bin/env bash
# The whole test suite: formatting, lint, types, schema drift, the build, and every test
# (SQLite and PostgreSQL, and the browser tests in headless Chromium). `npm test` runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n== %s\n' "$1"; }

step "prettier"
npx prettier --check . --log-level warn
step "eslint"
npx eslint . --max-warnings 0
step "typescript"
npx tsc --noEmit
step "prisma: both databases in step"
npx tsx prisma/tool.ts check
step "build"
npm run --silent build > /dev/null
step "a clone on its own (no ../shared beside it): the demo and the fixture tests"
bash dev/standalone.sh > /tmp/slice-standalone.log 2>&1 || { tail -40 /tmp/slice-standalone.log; exit 1; }
grep -E "demo check|Tests " /tmp/slice-standalone.log
step "tests (SQLite, PostgreSQL, browser)"
npx vitest run "$@"
