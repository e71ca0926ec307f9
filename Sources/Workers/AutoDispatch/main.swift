import Shared

// The auto-dispatch worker. Its domain handlers arrive with their issue; for now it runs the fleet's
// ping handler so the whole fleet starts, drains and reports health end to end.
await WorkerProcess.main({
    var worker = try Worker(name: "auto-dispatch", queue: "auto-dispatch", concurrency: 8)
    try worker.registerPing()
    return worker
}, defaultHTTPPort: 9402)
