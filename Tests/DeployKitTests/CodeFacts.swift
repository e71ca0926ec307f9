import Foundation
import Testing
import Yams

/// The checkout these tests read: the deploy kit's files and, to check them against, the code.
enum Repo {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func url(_ path: String) -> URL { root.appendingPathComponent(path) }

    static func text(_ path: String) throws -> String {
        try String(contentsOf: url(path), encoding: .utf8)
    }

    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: url(path).path) }

    /// Relative paths of the files under `folder` (recursively) whose names end in `suffix`.
    static func files(under folder: String, suffix: String) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: url(folder).path) else { return [] }
        return walker.compactMap { $0 as? String }.filter { $0.hasSuffix(suffix) }.map { folder + "/" + $0 }.sorted()
    }

    /// One YAML document as a dictionary (merge keys resolved by Yams).
    static func yaml(_ path: String) throws -> [String: Any] {
        let loaded = try Yams.load(yaml: try text(path))
        return try #require(Doc.map(loaded), "\(path) is not a YAML mapping")
    }

    /// Every document of a multi-document YAML file.
    static func yamlDocuments(_ path: String) throws -> [[String: Any]] {
        try Yams.load_all(yaml: try text(path)).compactMap { Doc.map($0) }
    }
}

/// Navigating loosely typed YAML/JSON.
enum Doc {
    static func map(_ value: Any?) -> [String: Any]? {
        if let value = value as? [String: Any] { return value }
        guard let value = value as? [AnyHashable: Any] else { return nil }
        var result: [String: Any] = [:]
        for (key, inner) in value { result[String(describing: key.base)] = inner }
        return result
    }

    static func list(_ value: Any?) -> [Any] { value as? [Any] ?? [] }

    static func string(_ value: Any?) -> String? {
        switch value {
        case let text as String: text
        case let number as Int: String(number)
        case let number as Double: String(number)
        case let flag as Bool: String(flag)
        default: nil
        }
    }

    static func int(_ value: Any?) -> Int? {
        if let number = value as? Int { return number }
        return string(value).flatMap { Int($0) }
    }

    /// `a.b.c` through nested mappings.
    static func at(_ value: Any?, _ path: String) -> Any? {
        var current = value
        for key in path.split(separator: ".") { current = map(current)?[String(key)] }
        return current
    }
}

func matches(_ pattern: String, in text: String) -> [[String]] {
    guard let regex = try? NSRegularExpression(pattern: pattern, options: [.anchorsMatchLines]) else { return [] }
    let range = NSRange(text.startIndex..., in: text)
    return regex.matches(in: text, range: range).map { match in
        (0..<match.numberOfRanges).map { index in
            Range(match.range(at: index), in: text).map { String(text[$0]) } ?? ""
        }
    }
}

/// What the code says, read from Package.swift and Sources: the deploy kit is checked against it.
struct CodeFacts {
    struct Worker {
        let product: String
        let target: String
        let defaultPort: Int
        let queue: String
    }

    let workers: [Worker]
    let executables: [String]
    /// Environment names each program reads (Shared's plus its own folder's).
    let reads: [String: Set<String>]
    /// Names read as secrets, which may also come as NAME_FILE.
    let secrets: Set<String>
    /// Exported metric names as Prometheus shows them (timers as _bucket/_sum/_count).
    let metrics: Set<String>
    /// Label names the code gives its metrics.
    let metricLabels: Set<String>
    /// The workers' drain time on SIGTERM by default, and the ServiceGroup's escalation after it.
    let shutdownGraceSeconds: Int
    let escalationAfterGraceSeconds: Int

    static let shared: CodeFacts = {
        do { return try CodeFacts() } catch { fatalError("cannot read the code: \(error)") }
    }()

    init() throws {
        let package = try Repo.text("Package.swift")
        let block = try #require(package.range(of: "let workers: [(product: String, target: String)] = ["))
        let list = String(package[block.upperBound...].prefix { $0 != "]" })
        var workers: [Worker] = []
        for pair in matches(#"\("([a-z-]+)", "([A-Za-z]+)"\)"#, in: list) {
            let main = try Repo.text("Sources/Workers/\(pair[2])/main.swift")
            let port = try #require(matches(#"defaultHTTPPort: (\d+)"#, in: main).first.flatMap { Int($0[1]) }, "\(pair[2]) default port")
            let queue = try #require(matches(#"Worker\(name: "[a-z-]+", queue: "([a-z-]+)""#, in: main).first?[1], "\(pair[2]) queue")
            workers.append(Worker(product: pair[1], target: pair[2], defaultPort: port, queue: queue))
        }
        self.workers = workers
        executables = workers.map(\.product) + matches(#"\.executable\(name: "([a-z-]+)""#, in: package).map { $0[1] }

        func sources(_ folder: String) throws -> String {
            try Repo.files(under: folder, suffix: ".swift").map { try Repo.text($0) }.joined(separator: "\n")
        }
        let read = #"\b(?:string|int|seconds|secondsOrOff|bool|choice|secret|required)\(\s*"((?:DATABASE_URL|HOTLINE_)[A-Z0-9_]*)""#
        let secret = #"\b(?:secret|required)\(\s*"((?:DATABASE_URL|HOTLINE_)[A-Z0-9_]*)""#
        let shared = try sources("Sources/Shared")
        var reads: [String: Set<String>] = [:]
        var secrets = Set(matches(secret, in: shared).map { $0[1] })
        let sharedReads = Set(matches(read, in: shared).map { $0[1] })
        var all = shared
        for worker in workers {
            let own = try sources("Sources/Workers/\(worker.target)")
            reads[worker.product] = sharedReads.union(matches(read, in: own).map { $0[1] })
            secrets.formUnion(matches(secret, in: own).map { $0[1] })
            all += own
        }
        let admin = try sources("Sources/Admin")
        reads["hotline"] = sharedReads.union(matches(read, in: admin).map { $0[1] })
        secrets.formUnion(matches(secret, in: admin).map { $0[1] })
        self.reads = reads
        self.secrets = secrets
        all += admin

        var metrics = Set<String>()
        for match in matches(#"(\w+(?:\.\w+)?)\(label: "(hotline_[a-z0-9_]+)""#, in: all) {
            if match[1].hasSuffix("Timer") {
                metrics.formUnion(["_bucket", "_sum", "_count"].map { match[2] + $0 })
            } else {
                metrics.insert(match[2])
            }
        }
        self.metrics = metrics
        var labels = Set<String>()
        for line in all.split(separator: "\n") where line.contains("dimensions:") || line.contains("let labels = [(") {
            labels.formUnion(matches(#"\("([a-z_]+)", "#, in: String(line)).map { $0[1] })
        }
        metricLabels = labels

        let settings = try Repo.text("Sources/Shared/Runtime/WorkerSettings.swift")
        shutdownGraceSeconds = try #require(matches(#""HOTLINE_SHUTDOWN_GRACE_SECONDS", default: (\d+)"#, in: settings).first.flatMap { Int($0[1]) })
        let process = try Repo.text("Sources/Shared/Runtime/WorkerProcess.swift")
        escalationAfterGraceSeconds = try #require(
            matches(#"maximumGracefulShutdownDuration = settings\.runtime\.shutdownGrace \+ \.seconds\((\d+)\)"#, in: process).first.flatMap { Int($0[1]) })
    }

    func worker(_ product: String) -> Worker? { workers.first { $0.product == product } }

    /// The environment names a program may be given: what it reads, and NAME_FILE for its secrets.
    func accepted(by program: String) -> Set<String> {
        let names = reads[program] ?? []
        return names.union(names.filter(secrets.contains).map { $0 + "_FILE" })
    }

    /// Labels a query may use: the code's, and what every scrape adds.
    var queryLabels: Set<String> { metricLabels.union(["worker", "instance", "job", "le"]) }
}

/// Seconds in a compose or systemd duration ("45s", "1m30s", "45").
func durationSeconds(_ text: String) -> Int? {
    if let plain = Int(text) { return plain }
    var total = 0
    var number = ""
    for character in text {
        if character.isNumber { number.append(character); continue }
        guard let value = Int(number) else { return nil }
        switch character {
        case "h": total += value * 3600
        case "m": total += value * 60
        case "s": total += value
        default: return nil
        }
        number = ""
    }
    return number.isEmpty ? total : nil
}

/// Metric names and label names a PromQL expression uses.
struct PromQLUse {
    let metrics: Set<String>
    let labels: Set<String>

    init(_ expression: String) {
        metrics = Set(matches(#"\b(hotline_[a-z0-9_]+)"#, in: expression).map { $0[1] })
        var labels = Set(matches(#"([a-z_]+)\s*(?:=~|!~|!=|=)\s*""#, in: expression).map { $0[1] })
        for group in matches(#"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)"#, in: expression) {
            labels.formUnion(group[1].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        }
        for template in matches(#"\$labels\.([a-z_]+)"#, in: expression) { labels.insert(template[1]) }
        self.labels = labels
    }
}

@Suite("DeployKit: the code facts the kit is checked against")
struct CodeFactsTests {
    @Test func readsSixWorkersWithPortsAndQueues() {
        let facts = CodeFacts.shared
        #expect(facts.workers.map(\.product) == ["intake-extraction", "auto-dispatch", "sla-timer", "escalation", "sms-notify", "satisfaction-callback"])
        #expect(facts.workers.map(\.defaultPort) == [9401, 9402, 9403, 9404, 9405, 9406])
        #expect(facts.executables.contains("hotline") && facts.executables.contains("hotline-bench"))
        #expect(facts.reads["sms-notify"]?.contains("HOTLINE_LINK_SECRET") == true)
        #expect(facts.reads["auto-dispatch"]?.contains("HOTLINE_LINK_SECRET") == false)
        #expect(facts.secrets.isSuperset(of: ["DATABASE_URL", "HOTLINE_LINK_SECRET", "HOTLINE_SMS_HMAC_SECRET"]))
        #expect(facts.metrics.isSuperset(of: ["hotline_queue_depth", "hotline_job_duration_seconds_bucket", "hotline_db_up"]))
        #expect(Set(facts.metricLabels) == ["queue", "kind", "state", "outcome", "finding", "what", "timer"])
        #expect(facts.shutdownGraceSeconds == 20 && facts.escalationAfterGraceSeconds == 15)
    }
}
