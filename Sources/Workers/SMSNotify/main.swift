import Shared

// The sms-notify worker. Its domain handlers arrive with their issue; for now it runs the fleet's
// ping handler so the whole fleet starts, drains and reports health end to end.
await WorkerProcess.main({
    var worker = try Worker(name: "sms-notify", queue: "sms-notify", concurrency: 8)
    try worker.registerPing()
    return worker
}, defaultHTTPPort: 9405)
