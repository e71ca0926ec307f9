import Shared

// The auto-dispatch worker: decides who handles each extracted (or returned) ticket — lead,
// co-handlers, cc — from the dispatch rules and the ticket's place, and records the round with
// its SLA timers and notifications, or puts the ticket in front of a human dispatcher.
let model = DispatchModel()
let group = DispatchTicketHandler.group()
await WorkerProcess.main({
    // Jobs wait for a group transaction without holding a connection, so many can be in flight
    // (a backlog fills groups of up to 32: one claim, commit and WAL flush for all of them).
    var worker = try Worker(name: "auto-dispatch", queue: "auto-dispatch", concurrency: 128, connections: group.connections + 6)
    try worker.register(DispatchTicket.self) { job, context in
        try await DispatchTicketHandler.run(job, context, model: model, group: group)
    }
    try worker.registerPing()
    // Load the rules and the unit tree before claiming.
    worker.warmUp = { client, logger in _ = try await model.value(client, logger: logger) }
    return worker
}, defaultHTTPPort: 9402,
   about: "decides who handles each extracted or returned ticket and records the round with its SLA timers and notifications, or queues it for a human dispatcher.")
