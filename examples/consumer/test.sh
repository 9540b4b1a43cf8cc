#!/usr/bin/env bash
# Packs websocket-echo as npm would publish it and tests this Worker against the tarball, in a copy outside the
# repository: there nothing resolves from the repository's own node_modules, as for anyone who installs the package.
set -euo pipefail
example=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -R "$example"/{package.json,tsconfig.json,vitest.config.ts,wrangler.toml,src,test} "$work"
(cd "$example/../.." && npm pack --silent --pack-destination "$work" >/dev/null)
mv "$work"/websocket-echo-*.tgz "$work/websocket-echo.tgz"
cd "$work"
# No lockfile. The tarball's integrity changes with every change to what is packed, and with a lock `npm ci`
# installs the tarball cached under the locked integrity, not the one just packed, without an error.
# The direct dependencies are exact versions in package.json.
npm install --no-audit --no-fund --no-package-lock
npm test
