import Foundation
import Testing

/// No SQL is built by pasting input into a string. Swift code sends values as bind parameters
/// (PostgresNIO's string interpolation makes `$1`, `$2` …); `PostgresQuery(unsafeSQL:)` is for
/// text that is itself program source: the migrations under sql/ and the benchmark's and fault
/// suite's own statements. SQL functions that run dynamic statements quote identifiers with
/// `%I` and values with `%L`. These checks read the source tree, so a new exception is a
/// deliberate edit here, with its reason, not an accident.
@Suite("SQL built from input")
struct SQLInjectionGuardTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Where `unsafeSQL:` may appear, and why.
    static let unsafeSQLAllowed: [String: String] = [
        "Sources/Shared/Database/Migrator.swift": "runs the statements of the sql/ files",
        "Sources/Bench/": "the benchmark's own statements",
        "Sources/FaultSuite/": "the fault suite's own statements and fault settings",
    ]

    /// Dynamic statements that may use `%s`, and why it is safe there.
    static let percentSAllowed: [String: String] = [
        "ALTER FUNCTION %s SECURITY DEFINER": "the argument is a regprocedure from pg_proc, which prints quoted",
        "ALTER FUNCTION %s SECURITY INVOKER": "the argument is a regprocedure from pg_proc, which prints quoted",
    ]

    @Test func swiftCodeSendsValuesAsBindParameters() throws {
        var offenders: [String] = []
        for file in try Self.files(under: "Sources", suffix: ".swift") {
            let relative = String(file.path.dropFirst(Self.root.path.count + 1))
            let text = try String(contentsOf: file, encoding: .utf8)
            guard text.contains("unsafeSQL:") else { continue }
            if !Self.unsafeSQLAllowed.keys.contains(where: { relative.hasPrefix($0) }) {
                offenders.append(relative)
            }
        }
        #expect(offenders.isEmpty, "PostgresQuery(unsafeSQL:) outside the migrator, benchmark and fault suite: \(offenders)")
    }

    @Test func dynamicStatementsInSQLQuoteWhatTheyInsert() throws {
        var offenders: [String] = []
        var dynamic = 0
        for file in try Self.files(under: "sql", suffix: ".sql") {
            let lines = try String(contentsOf: file, encoding: .utf8).components(separatedBy: "\n")
            for (index, line) in lines.enumerated() {
                let code = line.components(separatedBy: "--")[0]
                guard let range = code.range(of: #"\bEXECUTE\s+(?!FUNCTION\b|ON\b)"#, options: .regularExpression) else { continue }
                if code.range(of: #"(GRANT|REVOKE)\s"#, options: .regularExpression) != nil { continue }
                dynamic += 1
                let statement = code[range.upperBound...]
                let place = "\(file.lastPathComponent):\(index + 1)"
                guard statement.hasPrefix("format(") else {
                    offenders.append("\(place): EXECUTE without format()")
                    continue
                }
                // The format string may continue on the next lines: read up to its closing quote.
                var text = String(statement)
                var next = index + 1
                while text.components(separatedBy: "'").count < 3 && next < lines.count {
                    text += lines[next]
                    next += 1
                }
                let formatString = text.components(separatedBy: "'").dropFirst().first ?? ""
                if formatString.contains("%s") && !Self.percentSAllowed.keys.contains(where: { formatString.contains($0) }) {
                    offenders.append("\(place): %s in \(formatString)")
                }
            }
        }
        #expect(dynamic > 0, "the scan found the dynamic statements it is meant to check")
        #expect(offenders.isEmpty, "dynamic SQL must quote with %I / %L: \(offenders)")
    }

    static func files(under folder: String, suffix: String) throws -> [URL] {
        let base = root.appendingPathComponent(folder)
        guard let walker = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil) else {
            throw CocoaError(.fileReadNoSuchFile)
        }
        return walker.compactMap { $0 as? URL }.filter { $0.path.hasSuffix(suffix) }.sorted { $0.path < $1.path }
    }
}
