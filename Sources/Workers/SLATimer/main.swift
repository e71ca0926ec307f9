import Shared

// The sla-timer worker. Its domain handlers arrive with their issue; for now it runs the fleet's
// ping handler so the whole fleet starts, drains and reports health end to end.
await WorkerProcess.main({
    var worker = try Worker(name: "sla-timer", queue: "sla-timer", concurrency: 8)
    try worker.registerPing()
    return worker
}, defaultHTTPPort: 9403)
