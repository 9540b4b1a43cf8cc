// T0: a raw TCP echo on loopback, the ceiling that any WebSocket server stays under.
import { createServer } from "node:net"

const server = createServer((socket) => {
  socket.setNoDelay(true)
  socket.on("data", (chunk) => socket.write(chunk))
  socket.on("error", () => socket.destroy())
})
server.listen(Number(process.argv[2]), "127.0.0.1", () => process.stdout.write("ready\n"))
