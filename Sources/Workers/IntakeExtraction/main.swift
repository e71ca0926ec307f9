import Shared

// The intake-extraction worker: fills in each new ticket (caller, place, category, urgency,
// flags, repeat-call link, knowledge-base suggestions) and hands it to auto-dispatch in the
// same transaction. `intake-extraction evaluate` scores the extractor on the labelled corpus.
let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "evaluate" {
    await EvaluateCommand.main(Array(arguments.dropFirst()))
}
let model = ExtractionModel()
let group = ExtractTicketHandler.group()
await WorkerProcess.main({
    // Jobs wait for a group transaction without holding a connection, so many can be in flight
    // (a backlog fills groups of up to 32: one claim, commit and WAL flush for all of them).
    var worker = try Worker(name: "intake-extraction", queue: "intake-extraction", concurrency: 128, connections: group.connections + 6)
    try worker.register(ExtractTicket.self) { job, context in
        try await ExtractTicketHandler.run(job, context, model: model, group: group)
    }
    try worker.registerPing()
    // Train before claiming: a cold process would hold its claims for the training's seconds.
    worker.warmUp = { client, logger in _ = try await model.value(client, logger: logger) }
    return worker
}, defaultHTTPPort: 9401,
   about: "fills in each new ticket (caller, place, category, urgency, flags, repeat-call link, knowledge-base suggestions) and hands it to auto-dispatch.",
   commands: ["evaluate [--corpus F] [--holdout F] [--folds N] [--training-rows N]   the extractor's held-out accuracy as JSON"])
