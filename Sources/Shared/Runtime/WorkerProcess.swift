import Foundation
public import Logging
import Metrics
public import PostgresNIO
public import Prometheus
public import ServiceLifecycle
import UnixSignals

/// The `main` of every worker executable: reads the settings, sets up logs and metrics, and
/// runs the PostgreSQL client, the wake-up listener, the status endpoint and the worker runtime
/// in one ServiceGroup that drains gracefully on SIGTERM/SIGINT.
public enum WorkerProcess {
    /// Exit code for a configuration error (EX_CONFIG).
    public static let configurationExitCode: Int32 = 78

    /// What a worker's own services (beside the job runtime) are built from.
    public struct Parts: Sendable {
        public let client: PostgresClient
        public let listener: WakeupListener?
        public let health: HealthState
        public let logger: Logger
        public let environment: EnvironmentReader
        public let owner: String
    }

    /// `services` adds the worker's own long-running services (e.g. a `DatabaseLoop`); they run
    /// beside the job runtime and stop with it. A `ConfigurationError` it throws stops the process
    /// like a bad setting. With `about` (a worker executable's own main), the command line is
    /// checked first (`WorkerUsage`): `--help` prints and exits 0, any other argument exits 64;
    /// `commands` lists the executable's subcommands, handled before this call.
    public static func main(_ makeWorker: () throws -> Worker, defaultHTTPPort: Int?,
                            about: String? = nil, commands: [String] = [],
                            services: (Parts) throws -> [any Service] = { _ in [] }) async -> Never {
        let worker: Worker
        let settings: WorkerSettings
        do {
            worker = try makeWorker()
            if let about {
                WorkerUsage(name: worker.name, about: about, defaultHTTPPort: defaultHTTPPort, commands: commands).check()
            }
            settings = try WorkerSettings(worker: worker, defaultHTTPPort: defaultHTTPPort)
        } catch {
            FileHandle.standardError.write(Data("\(CommandLine.arguments.first.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "worker"): \(error)\n".utf8))
            exit(configurationExitCode)
        }
        let logger = bootstrapLogging(label: worker.name, level: settings.logLevel, json: settings.jsonLogs)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        if settings.migrate {
            do {
                let migrator = try Migrator(directory: try Migrator.locateDirectory(), logger: logger)
                let outcome = try await migrator.migrate(url: settings.database)
                logger.info("migrations checked", metadata: ["applied": "\(outcome.applied)"])
            } catch {
                logger.critical("migration failed; not starting", metadata: ["error": "\(error)"])
                exit(1)
            }
        }

        let health = HealthState(staleAfter: max(.seconds(30), settings.runtime.pollInterval * 3))
        let client = PostgresClient(
            configuration: settings.database.clientConfiguration(applicationName: settings.runtime.owner,
                                                                 maximumConnections: settings.poolSize),
            backgroundLogger: logger)
        let listener = settings.listen ? WakeupListener(client: client, logger: logger, health: health, probeInterval: settings.listenerProbe) : nil
        let runtime = WorkerRuntime(worker: worker, client: client, options: settings.runtime, listener: listener,
                                    health: health, logger: logger)
        let own: [any Service]
        do {
            own = try services(Parts(client: client, listener: listener, health: health, logger: logger,
                                     environment: EnvironmentReader(), owner: settings.runtime.owner))
        } catch {
            FileHandle.standardError.write(Data("\(worker.name): \(error)\n".utf8))
            exit(configurationExitCode)
        }

        // Shut down in reverse order: the runtime drains first, the client closes last.
        var group: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: client)]
        if let listener { group.append(.init(service: listener)) }
        if let port = settings.httpPort {
            group.append(.init(service: StatusServer(host: settings.httpHost, port: port, logger: logger) { path in
                respond(path: path, health: health, registry: registry)
            }))
        }
        group.append(contentsOf: own.map { .init(service: $0) })
        group.append(.init(service: runtime, successTerminationBehavior: .gracefullyShutdownGroup))
        var configuration = ServiceGroupConfiguration(services: group, gracefulShutdownSignals: [.sigterm, .sigint],
                                                      cancellationSignals: [], logger: logger)
        configuration.maximumGracefulShutdownDuration = settings.runtime.shutdownGrace + .seconds(15)
        do {
            try await ServiceGroup(configuration: configuration).run()
            exit(0)
        } catch {
            logger.critical("worker process failed", metadata: ["error": "\(error)"])
            exit(1)
        }
    }

    /// The /healthz and /metrics responses.
    public static func respond(path: String, health: HealthState, registry: PrometheusCollectorRegistry)
        -> (status: Int, contentType: String, body: [UInt8])
    {
        switch path {
        case "/healthz", "/health", "/readyz":
            let report = health.report()
            return (report.healthy ? 200 : 503, "application/json", Array((report.body + "\n").utf8))
        case "/metrics":
            return (200, "text/plain; version=0.0.4; charset=utf-8", registry.emitToBuffer())
        default:
            return (404, "text/plain; charset=utf-8", Array("not found: try /healthz or /metrics\n".utf8))
        }
    }

    /// Sets up swift-log once per process: text (default) or JSON lines on stderr.
    @discardableResult
    public static func bootstrapLogging(label: String, level: Logger.Level, json: Bool) -> Logger {
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}

/// A job every worker understands: the demo and smoke tests send it to prove a worker runs.
public struct FleetPing: JobPayload, Equatable {
    public static let kind = "fleet.ping"
    public var note: String
    public init(note: String) { self.note = note }
}

extension Worker {
    /// Registers the fleet's ping handler, which only logs.
    public mutating func registerPing() throws {
        try register(FleetPing.self) { ping, context in
            context.logger.info("ping", metadata: ["note": "\(ping.note)"])
        }
    }
}
