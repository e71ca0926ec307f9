import CoreMetrics
import Metrics

/// The queue's Prometheus metrics, with stable names and a `queue` label.
struct JobMetrics: Sendable {
    let queue: String
    let claimed: Counter
    let completed: Counter
    let failed: Counter
    let dead: Counter
    let released: Counter
    let leaseLost: Counter
    let reaped: Counter
    let claimErrors: Counter
    let inFlight: Gauge
    let wait: Metrics.Timer
    /// One handler-duration timer per registered kind, made once (not per job).
    private let durations: [String: Metrics.Timer]

    init(queue: String, kinds: [String]) {
        self.queue = queue
        let labels = [("queue", queue)]
        claimed = Counter(label: "hotline_jobs_claimed_total", dimensions: labels)
        completed = Counter(label: "hotline_jobs_completed_total", dimensions: labels)
        failed = Counter(label: "hotline_jobs_failed_total", dimensions: labels)
        dead = Counter(label: "hotline_jobs_dead_total", dimensions: labels)
        released = Counter(label: "hotline_jobs_released_total", dimensions: labels)
        leaseLost = Counter(label: "hotline_jobs_lease_lost_total", dimensions: labels)
        reaped = Counter(label: "hotline_jobs_reaped_total", dimensions: labels)
        claimErrors = Counter(label: "hotline_claim_errors_total", dimensions: labels)
        inFlight = Gauge(label: "hotline_jobs_in_flight", dimensions: labels)
        wait = Metrics.Timer(label: "hotline_job_wait_seconds", dimensions: labels, preferredDisplayUnit: .seconds)
        durations = Dictionary(uniqueKeysWithValues: kinds.map { ($0, Self.durationTimer(queue: queue, kind: $0)) })
    }

    func handlerDuration(kind: String) -> Metrics.Timer {
        durations[kind] ?? Self.durationTimer(queue: queue, kind: kind)
    }

    private static func durationTimer(queue: String, kind: String) -> Metrics.Timer {
        Metrics.Timer(label: "hotline_job_duration_seconds", dimensions: [("queue", queue), ("kind", kind)], preferredDisplayUnit: .seconds)
    }

    func depth(_ state: String) -> Gauge {
        Gauge(label: "hotline_queue_depth", dimensions: [("queue", queue), ("state", state)])
    }
}
