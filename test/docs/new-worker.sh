#!/usr/bin/env bash
# Follows docs/new-worker.md as written: the page's ```sh blocks, in order, in one bash session (-euo pipefail) in
# a fresh directory, with REPO set to this repository. Only what cannot run unattended is replaced:
#   - the page's `npx wrangler dev` starts in the background, in a process group of its own, on a free port, and
#     the script waits until it answers GET /echo with NOT_WEBSOCKET (60 s at most); it is stopped on exit;
#   - 127.0.0.1:8787 in the blocks after it becomes that port;
#   - the interactive `wscat -c URL` becomes a scripted echo of "hello" through this repository's `ws`.
# Then it checks what the page promises: a Worker that imports the package by subpath only, the 426 JSON, the app's
# own route, the echo, behaviours off (a 400 for delay_ms), the build's size line, no install-scripts warning from
# npm and no request.cf fetch from wrangler.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
page="$repo/docs/new-worker.md"
work=$(mktemp -d)
dev_log="$work/wrangler-dev.log"
dev_pid_file="$work/wrangler-dev.pid"

stop_dev() {
  if [ -s "$dev_pid_file" ]; then
    local pid
    pid=$(cat "$dev_pid_file")
    # The process group of the page's dev command: npx, wrangler and its workerd processes.
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 -- "-$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    : >"$dev_pid_file"
  fi
}
cleanup() {
  local status=$?
  stop_dev
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port=$(node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => {
  console.log(s.address().port)
  s.close()
})')

# The page's sh blocks, one line each, with a marker after each block.
blocks="$work/blocks.sh"
awk '/^```sh$/ { inside = 1; next } /^```/ { if (inside) print "# (end of block)"; inside = 0; next } inside' \
  "$page" >"$blocks"

script="$work/page.sh"
cat >"$script" <<EOF
# Generated from docs/new-worker.md by test/docs/new-worker.sh.
__dev_log=$(printf %q "$dev_log")
__dev_pid_file=$(printf %q "$dev_pid_file")
__port=$port
__repo=$(printf %q "$repo")
EOF
cat >>"$script" <<'EOF'
# The page's dev command, in the background and in a session of its own, until it answers or 60 s have passed.
__start_dev() {
  setsid bash -c "$1 --ip 127.0.0.1 --port $__port" >"$__dev_log" 2>&1 </dev/null &
  echo $! >"$__dev_pid_file"
  local url="http://127.0.0.1:$__port/echo" deadline=$((SECONDS + 60))
  echo "(waiting for wrangler dev to answer GET $url with NOT_WEBSOCKET)"
  until curl -s --max-time 2 "$url" 2>/dev/null | grep -q NOT_WEBSOCKET; do
    if ! kill -0 "$(cat "$__dev_pid_file")" 2>/dev/null; then
      echo "wrangler dev exited before it answered GET $url; its output:" >&2
      cat "$__dev_log" >&2
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "timed out after 60 s waiting for wrangler dev to answer GET $url with NOT_WEBSOCKET; its output:" >&2
      cat "$__dev_log" >&2
      return 1
    fi
    sleep 0.5
  done
  echo "(wrangler dev answers on port $__port)"
}
# What a person does with wscat: send "hello", read the echo, close.
__ws_echo() {
  WS_URL="$1" WS_MODULE="$__repo/node_modules/ws" node -e '
    const WebSocket = require(process.env.WS_MODULE)
    const ws = new WebSocket(process.env.WS_URL)
    const timer = setTimeout(() => { console.error("no echo within 10 s from " + process.env.WS_URL); process.exit(1) }, 10000)
    ws.on("open", () => { console.log("> hello"); ws.send("hello") })
    ws.on("message", (data) => { console.log("< " + String(data)); clearTimeout(timer); ws.close(1000) })
    ws.on("error", (error) => { console.error(error.message); process.exit(1) })
  '
}
EOF

repo_line='^REPO='
dev_line='^([A-Z_]+=[^ ]+ )*npx wrangler dev( |$)'
wscat_line='^npx .*wscat.* -c ([^ ]+)'
found_repo=0 found_dev=0 found_wscat=0 after_dev=0
while IFS= read -r line; do
  if [[ $line =~ $repo_line ]]; then
    printf 'REPO=%q    # set by test/docs/new-worker.sh\n' "$repo" >>"$script"
    found_repo=$((found_repo + 1))
  elif [[ $line =~ $dev_line ]]; then
    printf '__start_dev %q\n' "$line" >>"$script"
    found_dev=$((found_dev + 1))
    after_dev=1
  elif [[ $line =~ $wscat_line ]]; then
    url=${BASH_REMATCH[1]//127.0.0.1:8787/127.0.0.1:$port}
    printf '__ws_echo %q\n' "$url" >>"$script"
    found_wscat=$((found_wscat + 1))
  elif [ "$after_dev" -eq 1 ]; then
    printf '%s\n' "${line//127.0.0.1:8787/127.0.0.1:$port}" >>"$script"
  else
    printf '%s\n' "$line" >>"$script"
  fi
done <"$blocks"

if [ "$found_repo" -ne 1 ] || [ "$found_dev" -ne 1 ] || [ "$found_wscat" -lt 1 ]; then
  echo "docs/new-worker.md no longer has what this script replaces: REPO= lines $found_repo (want 1)," \
    "npx wrangler dev lines $found_dev (want 1), wscat lines $found_wscat (want at least 1)" >&2
  exit 1
fi

output="$work/output.log"
echo "Following docs/new-worker.md in $work (wrangler dev on port $port)"
if ! (cd "$work" && bash -euo pipefail "$script") 2>&1 | tee "$output"; then
  echo "FAIL: a block of docs/new-worker.md failed (above); wrangler dev's output, if it started:" >&2
  cat "$dev_log" >&2 2>/dev/null || true
  exit 1
fi
stop_dev

fail=0
expect() {
  if ! grep -qF -- "$2" "$3"; then
    echo "FAIL: $1: no \"$2\" in $(basename "$3")" >&2
    fail=1
  fi
}
refuse() {
  if grep -qF -- "$2" "$3"; then
    echo "FAIL: $1: \"$2\" in $(basename "$3")" >&2
    fail=1
  fi
}
expect "curl -i of /echo" "HTTP/1.1 426" "$output"
expect "curl -i of /echo" '{"error":"Expected WebSocket upgrade request (Upgrade: websocket)","code":"NOT_WEBSOCKET"}' \
  "$output"
expect "curl of the app's own route" '{"hello":"world"}' "$output"
expect "the WebSocket echo" "< echo: hello" "$output"
expect "the upgrade with a behaviour's parameter" \
  '{"error":"Unknown parameter \"delay_ms\"; the known ones are room","code":"UNKNOWN_PARAMETER"}' "$output"
worker="$work/my-echo/src/index.ts"
expect "the page's Worker" 'from "websocket-echo/Workers"' "$worker"
expect "the page's Worker" 'from "websocket-echo/EchoServer"' "$worker"
refuse "the page's Worker, which imports by subpath only" 'from "websocket-echo"' "$worker"
expect "the build" "Total Upload:" "$output"
refuse "npm install with the page's allowScripts" "not yet covered by allowScripts" "$output"
refuse "wrangler dev with CLOUDFLARE_CF_FETCH_ENABLED=false" "Unable to fetch the Request.cf object" "$dev_log"
if [ "$fail" -ne 0 ]; then
  echo "wrangler dev's output:" >&2
  cat "$dev_log" >&2
  exit 1
fi
echo "docs/new-worker.md: every block ran as written, and the Worker answered as the page says"
