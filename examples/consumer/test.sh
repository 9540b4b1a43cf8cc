#!/usr/bin/env bash
# Packs websocket-echo as npm would publish it and tests this Worker against the tarball, in a copy outside the
# repository: there nothing resolves from the repository's own node_modules, as for anyone who installs the package.
set -euo pipefail
example=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -R "$example"/{package.json,tsconfig.json,vitest.config.ts,wrangler.toml,worker-configuration.d.ts,src,test,types} \
  "$work"
(cd "$example/../.." && npm pack --silent --pack-destination "$work" >/dev/null)
mv "$work"/websocket-echo-*.tgz "$work/websocket-echo.tgz"
cd "$work"
# No lockfile. The tarball's integrity changes with every change to what is packed, and with a lock `npm ci`
# installs the tarball cached under the locked integrity, not the one just packed, without an error.
# The direct dependencies are exact versions in package.json.
npm install --no-audit --no-fund --no-package-lock

# The errors render themselves: nothing here builds an error's response by hand.
if grep -rn "errorResponse" src test types; then
  echo "FAIL: the consumer's code calls errorResponse (above); its errors must render themselves" >&2
  exit 1
fi

# Node resolves the package through the same `exports` map as TypeScript and wrangler: every public module by its
# subpath, nothing else.
node --input-type=module -e '
  const reachable = ["", "/Workers", "/EchoServer", "/EchoRooms", "/Connection", "/ConnectionMachine", "/EchoRpcs",
    "/HttpError", "/package.json"]
  const unreachable = ["/dist/index.js", "/dist/runtime/Echo.js", "/runtime/Route", "/src/index.ts", "/dist/Workers"]
  let failed = false
  for (const path of reachable) import.meta.resolve(`websocket-echo${path}`)
  for (const path of unreachable) {
    try {
      import.meta.resolve(`websocket-echo${path}`)
      console.error(`FAIL: websocket-echo${path} resolves, but is not in the package exports`)
      failed = true
    } catch (error) {
      if (error.code !== "ERR_PACKAGE_PATH_NOT_EXPORTED") throw error
    }
  }
  if (failed) process.exit(1)
  console.log(`${reachable.length} subpaths resolve; ${unreachable.length} paths inside the package do not`)
'
npm test
