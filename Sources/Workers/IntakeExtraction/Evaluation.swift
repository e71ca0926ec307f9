import Foundation
import Logging
import PostgresNIO
import Shared

/// Held-out evaluation of the extractor on the labelled corpus: every fifth row is held out and
/// never trained on; the extractor (places and keyword rules from the database, classifiers
/// trained on the other rows) is scored on it. Used by the accuracy test and by
/// `intake-extraction evaluate`, which the benchmark runs.
struct Evaluation: Codable, Sendable {
    var trainingRows: Int
    var heldOutRows: Int
    var district: Int
    /// Rows whose label names a district (the others must come out with none).
    var placedRows: Int
    var street: Int
    var category: Int
    /// Category right at the first two levels (the department a dispatcher would route by).
    var categoryLevel2: Int
    var urgency: Int
    var enterprise: Int
    var sensitive: Int
    /// Texts per second through `Extractor.extract` on one core (no database).
    var extractionsPerSecond: Double
    var urgencyMisses: [String]
    var categoryMisses: [String]
    var districtMisses: [String]

    static func split(_ rows: [LabelledCorpus.Row]) -> (training: [LabelledCorpus.Row], heldOut: [LabelledCorpus.Row]) {
        let indexed = rows.enumerated()
        return (indexed.filter { $0.offset % 5 != 4 }.map(\.element), indexed.filter { $0.offset % 5 == 4 }.map(\.element))
    }

    static func run(corpus rows: [LabelledCorpus.Row], on runner: some SQLRunner, logger: Logger) async throws -> Evaluation {
        let (training, heldOut) = split(rows)
        let loaded = try await Extractor.load(from: runner, logger: logger, trainingExamples: false)
        let extractor = Extractor(places: loaded.places, training: training.map(\.example), rules: loaded.rules,
                                  knowledgeBase: loaded.knowledgeBase)
        let names = Dictionary(uniqueKeysWithValues: try await runner.all(
            "SELECT id, name FROM hotline.jurisdictions", as: (Int, String).self, logger: logger))

        var result = Evaluation(trainingRows: training.count, heldOutRows: heldOut.count, district: 0, placedRows: 0, street: 0,
                                category: 0, categoryLevel2: 0, urgency: 0, enterprise: 0, sensitive: 0,
                                extractionsPerSecond: 0, urgencyMisses: [], categoryMisses: [], districtMisses: [])
        let start = ContinuousClock.now
        let extractions = heldOut.map { extractor.extract(content: $0.text) }
        result.extractionsPerSecond = Double(heldOut.count) / max((ContinuousClock.now - start).seconds, 1e-9)
        for (row, got) in zip(heldOut, extractions) {
            if !row.district.isEmpty { result.placedRows += 1 }
            let district = got.place.districtID.flatMap { names[$0] } ?? ""
            if district == row.district {
                result.district += 1
            } else {
                result.districtMisses.append("\(row.id) \(row.district.isEmpty ? "-" : row.district) → \(district.isEmpty ? "-" : district)")
            }
            if (got.place.streetID.flatMap { names[$0] } ?? "") == row.street { result.street += 1 }
            if got.category == row.category {
                result.category += 1
            } else {
                result.categoryMisses.append("\(row.id) \(row.category) → \(got.category ?? "-")")
            }
            if got.category.map(Self.levels2) == Self.levels2(row.category) { result.categoryLevel2 += 1 }
            if got.urgency == row.urgency {
                result.urgency += 1
            } else {
                result.urgencyMisses.append("\(row.id) \(row.urgency) → \(got.urgency)")
            }
            if got.flags.contains("enterprise") == row.enterprise { result.enterprise += 1 }
            if got.flags.contains("sensitive") == row.sensitive { result.sensitive += 1 }
        }
        return result
    }

    private static func levels2(_ label: String) -> Substring {
        label.split(separator: "/").prefix(2).joined(separator: "/")[...]
    }

    func share(_ count: Int) -> Double { heldOutRows == 0 ? 0 : Double(count) / Double(heldOutRows) }
}

extension LabelledCorpus.Row {
    var example: Extractor.Example {
        Extractor.Example(text: text, category: category, urgency: urgency)
    }
}

/// `intake-extraction evaluate [--corpus PATH]`: prints the held-out evaluation as JSON.
enum EvaluateCommand {
    static func main(_ arguments: [String]) async -> Never {
        func fail(_ message: String, code: Int32) -> Never {
            FileHandle.standardError.write(Data("intake-extraction evaluate: \(message)\n".utf8))
            exit(code)
        }
        var corpusPath = "data/complaints-corpus.tsv"
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            switch argument {
            case "--corpus":
                guard let path = rest.popFirst() else { fail("--corpus needs a path", code: 64) }
                corpusPath = path
            default:
                fail("unknown argument \(argument); usage: intake-extraction evaluate [--corpus PATH]", code: 64)
            }
        }
        var logger = Logger(label: "evaluate")
        logger.logLevel = .warning
        do {
            let rows = try LabelledCorpus.read(path: corpusPath)
            guard let value = ProcessInfo.processInfo.environment["DATABASE_URL"] else {
                fail("DATABASE_URL is not set (the jurisdiction tree and keyword rules come from the database)", code: 78)
            }
            let url = try DatabaseURL(value)
            let client = PostgresClient(configuration: url.clientConfiguration(applicationName: "intake-evaluate", maximumConnections: 2),
                                        backgroundLogger: logger)
            let evaluation = try await withThrowingTaskGroup(of: Evaluation?.self) { group in
                group.addTask { await client.run(); return nil }
                defer { group.cancelAll() }
                return try await Evaluation.run(corpus: rows, on: client, logger: logger)
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            print(String(decoding: try encoder.encode(evaluation), as: UTF8.self))
            exit(0)
        } catch let error as ConfigurationError {
            fail("\(error)", code: 78)
        } catch {
            fail("\(error)", code: 1)
        }
    }
}
