import Shared

// The escalation worker: opens escalations (异常工单自动上报) that other workers and the rule scan
// request — a record naming the trigger and level, SMS to the leaders of the handling level,
// the supervising department and, at level 2, the discipline commission — and runs the
// periodic rule scan that catches what events miss.
await WorkerProcess.main({
    var worker = try Worker(name: "escalation", queue: "escalation", concurrency: 8)
    try worker.register(EscalateTicket.self, handler: EscalateTicketHandler.run)
    try worker.registerPing()
    return worker
}, defaultHTTPPort: 9404,
   about: "opens escalations with their recipients and runs the periodic rule scan (supervisions, long unresolved, hard tickets).",
   services: { parts in
    let scan = try RuleScan(environment: parts.environment)
    return [DatabaseLoop(name: "escalation-scan", client: parts.client, listener: nil,
                         health: parts.health, logger: parts.logger, step: scan.step)]
})
