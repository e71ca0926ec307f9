import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The systemd units, the image's entrypoint, the Dockerfile and ops/image-build against the code
/// and against each other.
@Suite("DeployKit: systemd units")
struct SystemdTests {
    let facts = CodeFacts.shared

    /// `Key=value` lines of a unit or env file (comments and sections skipped).
    func settings(_ path: String) throws -> [(key: String, value: String)] {
        try Repo.text(path).split(separator: "\n").compactMap { line in
            let text = line.trimmingCharacters(in: .whitespaces)
            guard !text.hasPrefix("#"), !text.hasPrefix("["), let equals = text.firstIndex(of: "=") else { return nil }
            return (String(text[..<equals]), String(text[text.index(after: equals)...]))
        }
    }

    @Test func templateDrainsOnSIGTERMWithinItsTimeoutAndIsHardened() throws {
        let unit = Dictionary(try settings("ops/systemd/hotline@.service"), uniquingKeysWith: { first, _ in first })
        #expect(unit["ExecStart"] == "/opt/hotline/bin/hotline-entrypoint %i")
        #expect(unit["KillSignal"] == "SIGTERM")
        let timeout = try #require(unit["TimeoutStopSec"].flatMap(durationSeconds))
        var grace = facts.shutdownGraceSeconds
        if let common = try settings("ops/systemd/hotline.env.example").first(where: { $0.key == "HOTLINE_SHUTDOWN_GRACE_SECONDS" }) {
            grace = Int(common.value) ?? grace
        }
        #expect(timeout > grace + facts.escalationAfterGraceSeconds)
        #expect(unit["Restart"] == "on-failure" && unit["RestartPreventExitStatus"] == "78")
        for (key, value) in ["NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
                             "PrivateDevices": "yes", "RestrictSUIDSGID": "yes", "CapabilityBoundingSet": ""] {
            #expect(unit[key] == value, "\(key)")
        }
        #expect(unit["User"] == "hotline")
        let migrate = try settings("ops/systemd/hotline-migrate.service")
        #expect(migrate.contains { $0.key == "Type" && $0.value == "oneshot" })
        #expect(migrate.filter { $0.key == "ExecStart" }.map(\.value).first == "/opt/hotline/bin/hotline-entrypoint hotline migrate")
    }

    @Test func everyWorkerHasAKindDropInAndEveryNameIsRead() throws {
        let kinds = Set(try FileManager.default.contentsOfDirectory(atPath: Repo.url("ops/systemd/kinds").path))
        #expect(kinds == Set(facts.workers.map { "\($0.product).conf" }))
        for worker in facts.workers {
            let accepted = facts.accepted(by: worker.product)
            let dropIn = try settings("ops/systemd/kinds/\(worker.product).conf")
            #expect(dropIn.contains { $0.key == "EnvironmentFile" && $0.value == "-/etc/hotline/\(worker.product).env" })
            let credentials = Set(dropIn.filter { $0.key == "LoadCredential" }.map { String($0.value.prefix { $0 != ":" }) })
            for environment in dropIn.filter({ $0.key == "Environment" }) {
                let name = String(environment.value.prefix { $0 != "=" })
                #expect(accepted.contains(name), "\(worker.product): \(name) is never read")
                if name.hasSuffix("_FILE") {
                    let credential = String(environment.value.split(separator: "/").last ?? "")
                    #expect(credentials.contains(credential), "\(worker.product): \(name) names a credential it does not load")
                }
            }
            if Repo.exists("ops/systemd/\(worker.product).env.example") {
                for (name, _) in try settings("ops/systemd/\(worker.product).env.example") {
                    #expect(accepted.contains(name), "\(worker.product).env.example: \(name) is never read")
                }
            }
        }
        let everyWorker = facts.workers.map { facts.accepted(by: $0.product) }.reduce(facts.accepted(by: "hotline")) { $0.intersection($1) }
        for (name, _) in try settings("ops/systemd/hotline.env.example") {
            #expect(everyWorker.contains(name), "hotline.env.example: \(name) is not read by every program")
        }
    }

    /// ops/systemd/install, run for real into a scratch root: one drop-in per replica, and
    /// scaling down removes the extra ones.
    @Test func installerWritesOneDropInPerReplica() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("deploykit-systemd-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let requests = facts.workers.map { "\($0.product)=\($0.product == "intake-extraction" ? 3 : 1)" }
        let first = try run([Repo.url("ops/systemd/install").path, "--root", root.path] + requests)
        #expect(first.status == 0, "\(first.output)")
        let units = root.appendingPathComponent("etc/systemd/system")
        var written = Set(try FileManager.default.contentsOfDirectory(atPath: units.path))
        #expect(written.isSuperset(of: ["hotline@.service", "hotline-migrate.service", "hotline.target",
                                        "hotline@intake-extraction-3.service.d", "hotline@sms-notify-1.service.d"]))
        #expect(written.filter { $0.hasSuffix(".service.d") }.count == 8)
        let smsDropIn = try String(contentsOf: units.appendingPathComponent("hotline@sms-notify-1.service.d/kind.conf"), encoding: .utf8)
        #expect(smsDropIn == (try Repo.text("ops/systemd/kinds/sms-notify.conf")))
        #expect(try run([Repo.url("ops/systemd/install").path, "--root", root.path, "intake-extraction=1"]).status == 0)
        written = Set(try FileManager.default.contentsOfDirectory(atPath: units.path))
        #expect(!written.contains("hotline@intake-extraction-2.service.d") && written.contains("hotline@intake-extraction-1.service.d"))
        #expect(try run([Repo.url("ops/systemd/install").path, "--root", root.path, "no-such-worker=1"]).status == 2)
    }
}

@Suite("DeployKit: image (Dockerfile, ops/image-build, hotline-entrypoint)")
struct ImageTests {
    let facts = CodeFacts.shared

    /// `ARG NAME="a b c"` in the Dockerfile, as the words the shell sees (`\$` is Docker's escape).
    func dockerArg(_ name: String) throws -> [String] {
        let value = try #require(matches(#"^ARG \#(name)="([^"]*)""#, in: try Repo.text("Dockerfile")).first?[1], "ARG \(name)")
        return value.replacingOccurrences(of: "\\$", with: "$").split(separator: " ").map(String.init)
    }

    /// `name=(a b 'c')` in ops/image-build, as the words bash sees (single quotes removed).
    func scriptArray(_ name: String) throws -> [String] {
        let value = try #require(matches(#"^\#(name)=\(([^)]*)\)"#, in: try Repo.text("ops/image-build")).first?[1], "\(name)=(…)")
        return value.split(whereSeparator: \.isWhitespace).map { $0.replacingOccurrences(of: "'", with: "") }
    }

    @Test func dockerfileAndImageBuildNameTheSameProgramsFilesAndPackages() throws {
        let products = try dockerArg("HOTLINE_PRODUCTS")
        #expect(products == (try scriptArray("products")))
        #expect(products == facts.workers.map(\.product) + ["hotline"])
        // Every executable product is in the image except the benchmark, which the Dockerfile says why.
        #expect(Set(facts.executables).subtracting(products) == ["hotline-bench"])
        #expect(try Repo.text("Dockerfile").contains("`hotline-bench` stays out"))
        let flags = try dockerArg("SWIFT_BUILD_FLAGS")
        #expect(flags == (try scriptArray("swift_build_flags")))
        #expect(flags.starts(with: ["-c", "release"]) && flags.contains("$ORIGIN/../lib"), "release build, run path to opt/hotline/lib: \(flags)")
        let dataFiles = try dockerArg("HOTLINE_DATA_FILES")
        #expect(dataFiles == (try scriptArray("data_files")))
        for file in dataFiles { #expect(Repo.exists("data/\(file)"), "data/\(file)") }
        #expect(try dockerArg("RUNTIME_PACKAGES") == (try scriptArray("runtime_packages")))
        let dockerfile = try Repo.text("Dockerfile"), script = try Repo.text("ops/image-build")
        for step in ["strip --strip-debug", "install -m 0644 sql/*.sql", "hotline-entrypoint", "opt/hotline/bin", "opt/hotline/lib",
                     "opt/hotline/sql", "opt/hotline/data", #"awk '$3 ~ /\/swift\/linux\// { print $3 }'"#, "xargs -r install -m 0644 -t"] {
            #expect(dockerfile.contains(step) && script.contains(step), "only one of them does: \(step)")
        }
    }

    @Test func runtimeImageRunsTheEntrypointAsANonRootUser() throws {
        let dockerfile = try Repo.text("Dockerfile")
        #expect(dockerfile.contains(#"ENTRYPOINT ["/opt/hotline/bin/hotline-entrypoint"]"#))
        #expect(dockerfile.contains("STOPSIGNAL SIGTERM"))
        let user = try #require(matches(#"^USER (\d+):(\d+)$"#, in: dockerfile).first)
        #expect(user[1] != "0")
        for deployment in Repo.files(under: "ops/k8s", suffix: ".yaml").filter({ $0.contains("deployment-") }) {
            let pod = try #require(Doc.map(Doc.at(try Repo.yamlDocuments(deployment).first, "spec.template.spec")))
            #expect(Doc.int(Doc.at(pod, "securityContext.runAsUser")) == Int(user[1]), "\(deployment) runs as another user than the image")
        }
        for setting in ["HOTLINE_SQL_DIR=/opt/hotline/sql", "HOTLINE_HTTP_HOST=0.0.0.0"] {
            #expect(dockerfile.contains(setting))
        }
        let ignore = try Repo.text(".dockerignore").split(separator: "\n").map(String.init)
        for excluded in [".build", ".git", "secrets", ".pg"] { #expect(ignore.contains(excluded), ".dockerignore: \(excluded)") }
    }

    @Test func opsScriptsAreExecutable() {
        for script in ["ops/image-build", "ops/hotline-entrypoint", "ops/compose-secrets", "ops/postgres/worker-logins", "ops/systemd/install"] {
            #expect(FileManager.default.isExecutableFile(atPath: Repo.url(script).path), "\(script) is not executable")
        }
    }

    /// Each worker binary (the debug build) explains itself on `--help` and refuses arguments it
    /// does not take, as an orchestrator's typo would pass them (exit 64, before any connection).
    @Test func everyWorkerAnswersHelpAndRefusesStrayArguments() throws {
        for worker in facts.workers {
            let binary = Repo.url(".build/debug/\(worker.product)").path
            let help = try run([binary, "--help"], environment: ["PATH": "/usr/bin:/bin"])
            #expect(help.status == 0, "\(worker.product) --help: \(help.output)")
            #expect(help.output.hasPrefix("\(worker.product): ") && help.output.contains("DATABASE_URL")
                    && help.output.contains("127.0.0.1:\(worker.defaultPort)"), "\(help.output)")
            let stray = try run([binary, "--replicas=3"], environment: ["PATH": "/usr/bin:/bin"])
            #expect(stray.status == 64 && stray.output.contains("unexpected argument(s) '--replicas=3'"), "\(worker.product): \(stray.output)")
        }
    }

    @Test func entrypointKnowsEveryWorkersDefaultPort() throws {
        let script = try Repo.text("ops/hotline-entrypoint")
        let mapped = Dictionary(uniqueKeysWithValues: matches(#"^\s+([a-z-]+)\) echo (\d+) ;;"#, in: script).map { ($0[1], Int($0[2]) ?? 0) })
        #expect(mapped == Dictionary(uniqueKeysWithValues: facts.workers.map { ($0.product, $0.defaultPort) }))
    }

    /// The real entrypoint in front of the real debug build: replica 50 of each worker binds its
    /// default port + 490 and answers /healthz with 503 while PostgreSQL cannot be reached; on
    /// SIGTERM it exits 0 by itself before the orchestrators' stop grace (compose, systemd,
    /// Kubernetes) would kill it. Without a database the drain takes the whole grace + 15 s (the
    /// runtime cannot release or deregister, the ServiceGroup cancels), so that is the worst case
    /// the stop grace must cover.
    @Test(.timeLimit(.minutes(3)))
    func entrypointStartsReplicasOnTheirPortsAndTheyStopWithinTheStopGrace() async throws {
        let bin = Repo.url(".build/debug")
        let stage = FileManager.default.temporaryDirectory.appendingPathComponent("deploykit-entrypoint-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: stage, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: stage) }
        try FileManager.default.copyItem(at: Repo.url("ops/hotline-entrypoint"), to: stage.appendingPathComponent("hotline-entrypoint"))
        for program in facts.workers.map(\.product) + ["hotline"] {
            let built = bin.appendingPathComponent(program).resolvingSymlinksInPath()
            try #require(FileManager.default.isExecutableFile(atPath: built.path), "build first: \(built.path)")
            try FileManager.default.createSymbolicLink(at: stage.appendingPathComponent(program), withDestinationURL: built)
        }
        let entrypoint = stage.appendingPathComponent("hotline-entrypoint").path
        let help = try run([entrypoint, "hotline", "--help"], environment: ["PATH": "/usr/bin:/bin"])
        #expect(help.status == 0 && help.output.contains("USAGE: hotline"))
        #expect(try run([entrypoint, "hotline-bench"], environment: ["PATH": "/usr/bin:/bin"]).status == 64)
        #expect(try run([entrypoint, "sla-timer-07"], environment: ["PATH": "/usr/bin:/bin"]).status == 64)

        // The shortest stop grace any deployment gives a worker.
        let compose = try Repo.yaml("docker-compose.yml")
        var stopGrace = Int.max
        for worker in facts.workers {
            if let text = Doc.string(Doc.at(compose, "services.\(worker.product).stop_grace_period")), let seconds = durationSeconds(text) {
                stopGrace = min(stopGrace, seconds)
            }
            let deployment = try Repo.yamlDocuments("ops/k8s/deployment-\(worker.product).yaml").first
            if let seconds = Doc.int(Doc.at(deployment, "spec.template.spec.terminationGracePeriodSeconds")) { stopGrace = min(stopGrace, seconds) }
        }
        let unit = try Repo.text("ops/systemd/hotline@.service")
        if let text = matches(#"^TimeoutStopSec=(\S+)$"#, in: unit).first?[1], let seconds = durationSeconds(text) { stopGrace = min(stopGrace, seconds) }
        try #require(stopGrace < Int.max)

        var running: [(worker: CodeFacts.Worker, process: Process, port: Int)] = []
        defer { for entry in running where entry.process.isRunning { entry.process.terminate() } }
        for worker in facts.workers {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: entrypoint)
            process.arguments = ["\(worker.product)-50"]
            // Nothing listens on port 9 (discard): the worker starts and finds no database.
            process.environment = ["PATH": "/usr/bin:/bin", "DATABASE_URL": "postgres://nobody@127.0.0.1:9/none?sslmode=disable",
                                   "HOTLINE_SMS_GATEWAY": "file:\(stage.path)/sms.jsonl", "HOTLINE_LINK_SECRET": "deploy-kit-test-secret-0123456789",
                                   "HOTLINE_LOG_LEVEL": "critical"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            running.append((worker, process, worker.defaultPort + 10 * 49))
        }
        for entry in running {
            var status: Int?
            for _ in 0..<150 where status == nil {
                status = await httpStatus(port: entry.port, path: "/healthz")
                if status == nil { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(status == 503, "\(entry.worker.product)-50 on port \(entry.port): \(String(describing: status))")
        }
        let stopped = ContinuousClock.now
        for entry in running { entry.process.terminate() }   // SIGTERM
        for entry in running {
            while entry.process.isRunning && ContinuousClock.now - stopped < .seconds(stopGrace + 15) {
                try await Task.sleep(for: .milliseconds(50))
            }
            let took = ContinuousClock.now - stopped
            #expect(!entry.process.isRunning, "\(entry.worker.product) still runs \(took) after SIGTERM")
            #expect(entry.process.isRunning || entry.process.terminationStatus == 0, "\(entry.worker.product) exit \(entry.process.terminationStatus)")
            #expect(took < .seconds(stopGrace), "\(entry.worker.product) took \(took) to stop; it would be killed after \(stopGrace) s")
        }
    }
}

/// The HTTP status of GET path on 127.0.0.1:port, or nil when nothing answers.
func httpStatus(port: Int, path: String) async -> Int? {
    var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
    request.timeoutInterval = 2
    return await withCheckedContinuation { continuation in
        URLSession.shared.dataTask(with: request) { _, response, _ in
            continuation.resume(returning: (response as? HTTPURLResponse)?.statusCode)
        }.resume()
    }
}
