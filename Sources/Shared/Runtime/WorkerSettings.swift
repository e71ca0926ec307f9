public import Logging

/// A worker process's settings, all from environment variables. Every bad value stops the
/// process at start with a `ConfigurationError` naming the variable.
///
/// | variable | default | meaning |
/// |---|---|---|
/// | DATABASE_URL | (required) | postgres://user:pass@host:port/db?sslmode=… |
/// | HOTLINE_CONCURRENCY | worker's own | jobs in flight per process, 1…1000 |
/// | HOTLINE_CLAIM_BATCH | min(concurrency, 100) | most jobs per claim, 1…1000 |
/// | HOTLINE_LEASE_SECONDS | 30 | job lease, 1…3600 |
/// | HOTLINE_POLL_SECONDS | 5 | backstop poll, 0.05…3600 |
/// | HOTLINE_SHUTDOWN_GRACE_SECONDS | 20 | drain time on SIGTERM, 0…3600 |
/// | HOTLINE_FINISHED_RETENTION_HOURS | 168 | keep finished jobs this long, 0…87600 |
/// | HOTLINE_LISTEN | true | LISTEN for wake-ups (false: poll only, e.g. behind PgBouncer) |
/// | HOTLINE_LISTENER_PROBE_SECONDS | 30 | how often the listening session proves it still listens, 1…3600 |
/// | HOTLINE_HTTP_HOST / HOTLINE_HTTP_PORT | 127.0.0.1 / worker's own | /healthz and /metrics; port 0 picks one, "off" disables |
/// | HOTLINE_DB_POOL_SIZE | worker's own, else concurrency + 4 | PostgreSQL connections per process, 2…500 |
/// | HOTLINE_MIGRATE | false | apply pending migrations on start |
/// | HOTLINE_LOG_LEVEL / HOTLINE_LOG_FORMAT | info / text | trace…critical / text or json |
public struct WorkerSettings: Sendable {
    public var database: DatabaseURL
    public var runtime: RuntimeOptions
    public var listen: Bool
    public var listenerProbe: Duration
    public var httpHost: String
    public var httpPort: Int?
    public var poolSize: Int
    public var migrate: Bool
    public var logLevel: Logger.Level
    public var jsonLogs: Bool

    public init(worker: Worker, defaultHTTPPort: Int?, environment env: EnvironmentReader = EnvironmentReader()) throws {
        guard let url = try env.secret("DATABASE_URL") else {
            throw ConfigurationError(variable: "DATABASE_URL", message: "not set; expected postgres://user:password@host:port/database")
        }
        database = try DatabaseURL(url)
        let concurrency = try env.int("HOTLINE_CONCURRENCY", default: worker.concurrency, in: 1...1000)
        let batch = try env.int("HOTLINE_CLAIM_BATCH", default: min(concurrency, 100), in: 1...1000)
        let lease = try env.seconds("HOTLINE_LEASE_SECONDS", default: 30, in: 1...3600)
        let poll = try env.seconds("HOTLINE_POLL_SECONDS", default: 5, in: 0.05...3600)
        let grace = try env.seconds("HOTLINE_SHUTDOWN_GRACE_SECONDS", default: 20, in: 0...3600)
        let retentionHours = try env.int("HOTLINE_FINISHED_RETENTION_HOURS", default: 168, in: 0...87600)
        runtime = RuntimeOptions(concurrency: concurrency, claimBatch: batch, lease: lease, pollInterval: poll,
                                 shutdownGrace: grace, finishedRetention: .seconds(retentionHours * 3600),
                                 owner: RuntimeOptions.makeOwner(worker: worker.name))
        listen = try env.bool("HOTLINE_LISTEN", default: true)
        listenerProbe = try env.seconds("HOTLINE_LISTENER_PROBE_SECONDS", default: 30, in: 1...3600)
        httpHost = env.string("HOTLINE_HTTP_HOST") ?? "127.0.0.1"
        if env.string("HOTLINE_HTTP_PORT")?.lowercased() == "off" {
            httpPort = nil
        } else {
            httpPort = try env.int("HOTLINE_HTTP_PORT", default: defaultHTTPPort ?? 0, in: 0...65535)
        }
        poolSize = try env.int("HOTLINE_DB_POOL_SIZE", default: worker.connections ?? concurrency + 4, in: 2...500)
        migrate = try env.bool("HOTLINE_MIGRATE", default: false)
        logLevel = try env.choice("HOTLINE_LOG_LEVEL", default: .info, [
            "trace": .trace, "debug": .debug, "info": .info, "notice": .notice,
            "warning": .warning, "error": .error, "critical": .critical,
        ])
        jsonLogs = try env.choice("HOTLINE_LOG_FORMAT", default: false, ["text": false, "json": true])
    }
}
