import { makeWorker } from "./app.js"

// The class of the ROOMS binding (wrangler.toml), which serves the sockets of /rooms/echo.
export { EchoRoom } from "websocket-echo/EchoRooms"

export default makeWorker({ prefix: "example: ", pipeline: "stream" }) satisfies ExportedHandler<Env>
