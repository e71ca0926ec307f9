import Shared

// The sla-timer worker: fires the deadlines every dispatched ticket carries — a warning to the
// handler at 75 % of the allowance, urging at the deadline, an escalation request when severely
// overdue (points per urgency class in hotline.sla_policy_points) — within a second of their
// time. It also serves its queue's fleet ping so ops can check it like every worker.
await WorkerProcess.main({
    var worker = try Worker(name: "sla-timer", queue: "sla-timer", concurrency: 2)
    try worker.registerPing()
    return worker
}, defaultHTTPPort: 9403, services: { parts in
    let firing = try TimerFiring(environment: parts.environment)
    return [DatabaseLoop(name: "sla-timers", client: parts.client, listener: parts.listener, wakeOn: "hotline.sla_timers",
                         health: parts.health, logger: parts.logger, step: firing.step)]
})
