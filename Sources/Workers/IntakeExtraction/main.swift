import Shared

// The intake-extraction worker: fills in each new ticket (caller, place, category, urgency,
// flags) and hands it to auto-dispatch in the same transaction.
let model = ExtractionModel()
await WorkerProcess.main({
    var worker = try Worker(name: "intake-extraction", queue: "intake-extraction", concurrency: 8)
    try worker.register(ExtractTicket.self) { job, context in
        try await ExtractTicketHandler.run(job, context, model: model)
    }
    try worker.registerPing()
    return worker
}, defaultHTTPPort: 9401)
