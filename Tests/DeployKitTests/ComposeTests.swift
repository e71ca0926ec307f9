import Foundation
import Testing

/// docker-compose.yml against the code: every worker, its real port and settings, secrets the
/// code reads from files, a stop grace that outlasts the drain, a connection budget that fits.
@Suite("DeployKit: docker-compose.yml")
struct ComposeTests {
    let facts = CodeFacts.shared
    let compose: [String: Any]
    let services: [String: Any]

    init() throws {
        compose = try Repo.yaml("docker-compose.yml")
        services = try #require(Doc.map(compose["services"]))
    }

    func service(_ name: String) throws -> [String: Any] {
        try #require(Doc.map(services[name]), "no compose service \(name)")
    }

    func environment(_ service: [String: Any]) -> [String: String] {
        (Doc.map(service["environment"]) ?? [:]).compactMapValues { Doc.string($0) }
    }

    /// Services that run our image: the first word of their command is the program.
    var ourServices: [(name: String, program: String, body: [String: Any])] {
        services.compactMap { name, value in
            guard let body = Doc.map(value), Doc.string(body["image"])?.contains("hotline") == true,
                  let program = Doc.string(Doc.list(body["command"]).first) else { return nil }
            return (name, program, body)
        }.sorted { $0.name < $1.name }
    }

    @Test func everyWorkerIsAServiceWithItsPortHealthCheckAndReplicas() throws {
        for worker in facts.workers {
            let body = try service(worker.product)
            #expect(Doc.list(body["command"]).compactMap { Doc.string($0) } == [worker.product])
            #expect((Doc.int(Doc.at(body, "deploy.replicas")) ?? 0) >= 1, "\(worker.product) replicas")
            let env = environment(body)
            #expect(env["HOTLINE_HTTP_PORT"] == String(worker.defaultPort), "\(worker.product) port")
            #expect(env["HOTLINE_HTTP_HOST"] == "0.0.0.0", "\(worker.product) must listen beyond loopback for Prometheus")
            let test = Doc.list(Doc.at(body, "healthcheck.test")).compactMap { Doc.string($0) }
            #expect(test.contains("http://127.0.0.1:\(worker.defaultPort)/healthz"), "\(worker.product) health check: \(test)")
            #expect(Doc.string(body["stop_signal"]) == "SIGTERM")
            let depends = try #require(Doc.map(body["depends_on"]), "\(worker.product) depends_on")
            #expect(Doc.string(Doc.at(depends, "migrate.condition")) == "service_completed_successfully")
            #expect(Doc.string(Doc.at(depends, "postgres.condition")) == "service_healthy")
        }
        let workerServices = Set(ourServices.map(\.program)).subtracting(["hotline"])
        #expect(workerServices == Set(facts.workers.map(\.product)), "a service runs a program that is not a worker")
    }

    @Test func stopGraceOutlastsTheDrain() throws {
        for worker in facts.workers {
            let body = try service(worker.product)
            let grace = Int(environment(body)["HOTLINE_SHUTDOWN_GRACE_SECONDS"] ?? "") ?? facts.shutdownGraceSeconds
            let stop = try #require(Doc.string(body["stop_grace_period"]).flatMap(durationSeconds), "\(worker.product) stop_grace_period")
            #expect(stop > grace + facts.escalationAfterGraceSeconds,
                    "\(worker.product): Docker kills after \(stop) s, the worker may drain for \(grace) + \(facts.escalationAfterGraceSeconds) s")
        }
    }

    @Test func migrationIsAOneShotTheWorkersWaitFor() throws {
        let migrate = try service("migrate")
        #expect(Doc.list(migrate["command"]).compactMap { Doc.string($0) } == ["hotline", "migrate"])
        #expect(Doc.string(migrate["restart"]) == "no")
        #expect(Doc.string(Doc.at(migrate, "depends_on.postgres.condition")) == "service_healthy")
        let postgres = try service("postgres")
        #expect(Doc.string(postgres["image"])?.hasPrefix("postgres:15") == true)
        #expect(Doc.map(postgres["healthcheck"])?["test"] != nil)
        let volume = try #require(Doc.list(postgres["volumes"]).compactMap { Doc.string($0) }.first { $0.hasSuffix(":/var/lib/postgresql/data") })
        let name = String(volume.prefix { $0 != ":" })
        #expect(Doc.map(compose["volumes"])?.keys.contains(name) == true, "PostgreSQL's data must be a named volume")
    }

    @Test func everyEnvironmentNameIsOneTheProgramReads() throws {
        for (name, program, body) in ourServices {
            let accepted = facts.accepted(by: program)
            #expect(!accepted.isEmpty, "\(name) runs \(program), which the code does not know")
            for variable in environment(body).keys {
                #expect(accepted.contains(variable), "\(name) sets \(variable), which \(program) never reads")
            }
        }
    }

    @Test func secretsComeAsFilesTheServiceMounts() throws {
        let declared = Set((Doc.map(compose["secrets"]) ?? [:]).keys)
        for (name, _, body) in ourServices {
            let mounted = Set(Doc.list(body["secrets"]).compactMap { Doc.string($0) })
            #expect(mounted.isSubset(of: declared), "\(name) mounts an undeclared secret")
            let env = environment(body)
            for (variable, value) in env where variable.hasSuffix("_FILE") {
                #expect(value.hasPrefix("/run/secrets/"), "\(name): \(variable)")
                #expect(mounted.contains(String(value.dropFirst("/run/secrets/".count))), "\(name): \(variable) names a secret it does not mount")
            }
            for secret in facts.secrets {
                #expect(env[secret] == nil, "\(name) puts the secret \(secret) in its environment; use \(secret)_FILE")
            }
            #expect(env["DATABASE_URL_FILE"] != nil, "\(name) has no database")
        }
    }

    @Test func connectionBudgetFitsMaxConnections() throws {
        let command = Doc.list(try service("postgres")["command"]).compactMap { Doc.string($0) }
        let maxConnections = try #require(command.compactMap { $0.hasPrefix("max_connections=") ? Int($0.dropFirst(16)) : nil }.first)
        var budget = 0
        for worker in facts.workers {
            let body = try service(worker.product)
            let env = environment(body)
            let pool = try #require(env["HOTLINE_DB_POOL_SIZE"].flatMap { Int($0) }, "\(worker.product) should state its pool size")
            budget += (Doc.int(Doc.at(body, "deploy.replicas")) ?? 1) * pool
        }
        // Room for the one-shots, people's psql and superuser_reserved_connections.
        #expect(budget + 20 <= maxConnections, "workers may open \(budget) of \(maxConnections) connections")
    }

    /// ops/compose-secrets, run for real into a temporary folder, makes exactly the files the
    /// compose file's secrets name, and the per-kind URLs ops/postgres/worker-logins expects.
    @Test func composeSecretsMakesEverySecretFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("deploykit-secrets-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try run([Repo.url("ops/compose-secrets").path, folder.path])
        #expect(result.status == 0, "\(result.output)")
        let made = Set(try FileManager.default.contentsOfDirectory(atPath: folder.path))
        var expected = Set<String>()
        for (name, value) in Doc.map(compose["secrets"]) ?? [:] {
            let file = try #require(Doc.string(Doc.map(value)?["file"]), "secret \(name)")
            #expect(file.hasPrefix("./secrets/"))
            expected.insert(String(file.dropFirst("./secrets/".count)))
        }
        #expect(made == expected)
        let logins = try Repo.text("ops/postgres/worker-logins")
        for worker in facts.workers {
            let kind = worker.product.replacingOccurrences(of: "-", with: "_")
            #expect(made.contains("database_url_\(kind)"))
            #expect(logins.contains("\(kind):hotline_"), "worker-logins does not know \(worker.product)")
            let url = try String(contentsOf: folder.appendingPathComponent("database_url_\(kind)"), encoding: .utf8)
            #expect(url.hasPrefix("postgres://worker_\(kind):") && url.contains("@postgres:5432/hotline"))
        }
        // A second run keeps every file.
        let before = try String(contentsOf: folder.appendingPathComponent("link_secret"), encoding: .utf8)
        #expect(try run([Repo.url("ops/compose-secrets").path, folder.path]).status == 0)
        #expect(try String(contentsOf: folder.appendingPathComponent("link_secret"), encoding: .utf8) == before)
    }
}

/// Runs a program to its end; stdout and stderr together.
func run(_ arguments: [String], environment: [String: String]? = nil) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: arguments[0])
    process.arguments = Array(arguments.dropFirst())
    if let environment { process.environment = environment }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
