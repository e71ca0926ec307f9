import Foundation
import Shared
import Testing

@Suite("Configuration")
struct ConfigurationTests {
    @Test func secretsComeFromTheVariableOrAFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("secret-\(UUID().uuidString)").path
        try "  s3cret-from-file\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try EnvironmentReader(["HOTLINE_LINK_SECRET": "inline"]).secret("HOTLINE_LINK_SECRET") == "inline")
        #expect(try EnvironmentReader(["HOTLINE_LINK_SECRET_FILE": path]).secret("HOTLINE_LINK_SECRET") == "s3cret-from-file")
        #expect(try EnvironmentReader([:]).secret("HOTLINE_LINK_SECRET") == nil)
        #expect(throws: ConfigurationError.self) {
            try EnvironmentReader(["HOTLINE_LINK_SECRET": "inline", "HOTLINE_LINK_SECRET_FILE": path]).secret("HOTLINE_LINK_SECRET")
        }
        #expect(throws: ConfigurationError.self) {
            try EnvironmentReader(["HOTLINE_LINK_SECRET_FILE": path + ".missing"]).secret("HOTLINE_LINK_SECRET")
        }
        let empty = path + ".empty"
        try "\n".write(toFile: empty, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        #expect(throws: ConfigurationError.self) { try EnvironmentReader(["DATABASE_URL_FILE": empty]).secret("DATABASE_URL") }
    }

    @Test func parsesDatabaseURLs() throws {
        let tcp = try DatabaseURL("postgres://app:s%3Acret@db.example:6543/hotline?sslmode=disable&application_name=w1")
        #expect(tcp.host == "db.example" && tcp.port == 6543 && tcp.username == "app" && tcp.password == "s:cret")
        #expect(tcp.database == "hotline" && tcp.tls == .disable && tcp.applicationName == "w1")
        #expect(!tcp.redacted.contains("s:cret") && !tcp.redacted.contains("cret"))

        let socket = try DatabaseURL("postgresql://postgres@/hotline?host=/run/pg&port=55433")
        #expect(socket.unixSocketDirectory == "/run/pg" && socket.port == 55433)
        #expect(try DatabaseURL(socket.urlString) == socket)
        #expect(try DatabaseURL("postgres://u@h/d").tls == .prefer)
    }

    @Test(arguments: [
        "mysql://u@h/d", "postgres://h/d", "postgres://u@h/", "postgres://u@h:99999/d",
        "postgres://u@h/d?sslmode=sometimes", "postgres://u@h/d?colour=blue", "not a url at all",
    ])
    func rejectsBadDatabaseURLsNamingTheVariable(text: String) {
        let error = #expect(throws: ConfigurationError.self) { try DatabaseURL(text) }
        #expect(error?.variable == "DATABASE_URL")
    }

    @Test func readsTypedEnvironmentValues() throws {
        let env = EnvironmentReader(["N": "12", "S": "0.25", "B": "yes", "BAD": "x", "BIG": "5000", "E": "  "])
        #expect(try env.int("N", default: 1, in: 1...100) == 12)
        #expect(try env.int("MISSING", default: 7, in: 1...100) == 7)
        #expect(try env.int("E", default: 7, in: 1...100) == 7, "blank counts as unset")
        #expect(try env.seconds("S", default: 1, in: 0...10) == .milliseconds(250))
        #expect(try env.bool("B", default: false))
        #expect((try? env.int("BAD", default: 1, in: 1...10)) == nil)
        let range = #expect(throws: ConfigurationError.self) { try env.int("BIG", default: 1, in: 1...1000) }
        #expect(range?.variable == "BIG")
        #expect(range?.message.contains("out of range") == true)
        #expect(throws: ConfigurationError.self) { try env.bool("BAD", default: true) }
        #expect(throws: ConfigurationError.self) { try env.choice("BAD", default: 1, ["a": 1]) }
    }

    @Test func workerSettingsComeFromTheEnvironment() throws {
        let worker = try Worker(name: "w", queue: "q", concurrency: 6)
        let settings = try WorkerSettings(worker: worker, defaultHTTPPort: 9400, environment: EnvironmentReader([
            "DATABASE_URL": "postgres://u@h/d", "HOTLINE_CLAIM_BATCH": "50", "HOTLINE_HTTP_PORT": "off",
            "HOTLINE_LOG_FORMAT": "json", "HOTLINE_LEASE_SECONDS": "12",
        ]))
        #expect(settings.runtime.concurrency == 6)
        #expect(settings.runtime.claimBatch == 50)
        #expect(settings.runtime.lease == .seconds(12))
        #expect(settings.httpPort == nil)
        #expect(settings.jsonLogs)
        #expect(settings.runtime.owner.hasPrefix("w@"))
        let missing = #expect(throws: ConfigurationError.self) {
            try WorkerSettings(worker: worker, defaultHTTPPort: nil, environment: EnvironmentReader([:]))
        }
        #expect(missing?.variable == "DATABASE_URL")
    }
}
