import Shared

// The sla-timer worker: fires the deadlines every dispatched ticket carries — a warning to the
// handler at 75 % of the allowance, urging at the deadline, an escalation request when severely
// overdue (points per urgency class in hotline.sla_policy_points) — within a second of their
// time. As the fleet's scheduled-work process it also runs retention about hourly (archive the
// events of long-ended tickets, prune operational rows past their window), publishes the SLA
// breach rate's parts once a minute, and serves its queue's fleet ping so ops can check it like
// every worker.
await WorkerProcess.main({
    var worker = try Worker(name: "sla-timer", queue: "sla-timer", concurrency: 2)
    try worker.registerPing()
    return worker
}, defaultHTTPPort: 9403,
   about: "fires the SLA deadlines (warnings, urging, escalation requests), runs retention and publishes the breach rate.",
   services: { parts in
    let firing = try TimerFiring(environment: parts.environment)
    let retention = try RetentionLoop(environment: parts.environment)
    let outcomes = try SLAOutcomes(environment: parts.environment)
    var loops = [DatabaseLoop(name: "sla-timers", client: parts.client, listener: parts.listener, wakeOn: "hotline.sla_timers",
                              health: parts.health, logger: parts.logger, step: firing.step)]
    if retention.every != nil {
        // No health here: a failed round (a lock timeout, say) says nothing about the database.
        loops.append(DatabaseLoop(name: "retention", client: parts.client, listener: nil, logger: parts.logger, step: retention.step))
    }
    if outcomes.every != nil {
        loops.append(DatabaseLoop(name: "sla-outcomes", client: parts.client, listener: nil, logger: parts.logger, step: outcomes.step))
    }
    return loops
})
