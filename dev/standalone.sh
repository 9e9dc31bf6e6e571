#!/usr/bin/env bash
# A clone on its own: what a person who finds the repository gets. The committed tree is cloned into
# a fresh temporary directory with nothing beside it (no ../shared), shares this checkout's
# node_modules, and must run the demo (`npm run demo -- --check`: start, sign in, open the admin
# and the storefront, stop) and the tests that read fixtures. Anything read from outside the
# repository fails here.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
dir="$(mktemp -d "${TMPDIR:-/tmp}/slice-clone-XXXXXX")"
trap 'rm -rf "$dir"' EXIT
git clone --quiet --no-hardlinks "$root" "$dir/slice"
ln -s "$root/node_modules" "$dir/slice/node_modules"
cd "$dir/slice"
test ! -e ../shared
npm run --silent demo -- --check --customers 120 --port 0
npx vitest run --project sqlite dev/ app/sync/sync.server.test.ts app/sync/address.test.ts extensions/ \
  --reporter dot
