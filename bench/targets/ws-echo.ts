// T1: the Node `ws` echo a user would pick instead: same prefix, binary stays binary, no compression.
import { WebSocketServer } from "ws"

const prefix = Buffer.from("echo: ")
const server = new WebSocketServer({ host: "127.0.0.1", port: Number(process.argv[2]), perMessageDeflate: false })
server.on("connection", (socket) => {
  socket.on("message", (data: Buffer, isBinary) => socket.send(Buffer.concat([prefix, data]), { binary: isBinary }))
  socket.on("error", () => socket.terminate())
})
server.on("listening", () => process.stdout.write("ready\n"))
