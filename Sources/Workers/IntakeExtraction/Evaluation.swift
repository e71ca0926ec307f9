import Foundation
import Logging
import PostgresNIO
import Shared

/// Held-out evaluation of the extractor on labelled complaints. The extractor (places and
/// keyword rules from the database, classifiers trained on the training rows) is scored on
/// rows it never trained on. Used by the accuracy test and by `intake-extraction evaluate`,
/// which the benchmark runs.
///
/// The corpus has two kinds of rows: the original corpus (ids `c…`), of which every fifth is
/// held out, and training additions (ids `t…`, written later for under-represented
/// categories), which are always trained on and never scored, so none is evaluated against
/// itself. A separate file of texts written before any tuning (data/complaints-holdout.tsv) is
/// scored with the classifiers trained on the whole corpus.
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
    /// Seconds to train both classifiers (category and urgency) on the training rows.
    var trainingSeconds: Double
    /// Held-out rows whose category has no training example at all (cannot be right).
    var unseenCategory: Int
    /// Held-out rows the classifier gave a category confidence ≥ 0.35 (auto-dispatch's
    /// `dispatch.min_confidence`), and how many of those were right.
    var confident: Int
    var confidentRight: Int
    /// For candidate values of `dispatch.min_confidence`: the share of held-out rows at or
    /// above it (what auto-dispatch would place) and how many of those are right, all three
    /// levels and the first two (which decide the department a rule routes to).
    var thresholds: [Threshold] = []
    var urgencyMisses: [String]
    var categoryMisses: [String]
    var districtMisses: [String]

    struct Threshold: Codable, Sendable {
        var at: Double
        var rows: Int
        var right: Int
        var rightLevel2: Int
    }

    /// A row of the original corpus (every fifth of which is held out), not a training addition.
    static func isOriginal(_ row: LabelledCorpus.Row) -> Bool { row.isOriginal }

    /// Fold `fold` of `folds`: original rows whose position among the original rows is `fold`
    /// modulo `folds` are held out; training additions are always trained on. With the defaults
    /// this is the project's fixed split (every fifth original row held out).
    static func split(_ rows: [LabelledCorpus.Row], fold: Int = 4, of folds: Int = 5)
        -> (training: [LabelledCorpus.Row], heldOut: [LabelledCorpus.Row]) {
        var training: [LabelledCorpus.Row] = []
        var heldOut: [LabelledCorpus.Row] = []
        var position = 0
        for row in rows {
            if isOriginal(row) {
                if position % folds == fold { heldOut.append(row) } else { training.append(row) }
                position += 1
            } else {
                training.append(row)
            }
        }
        return (training, heldOut)
    }

    /// The fixed split of the corpus.
    static func run(corpus rows: [LabelledCorpus.Row], on runner: some SQLRunner, logger: Logger) async throws -> Evaluation {
        let (training, heldOut) = split(rows)
        return try await run(training: training, heldOut: heldOut, on: runner, logger: logger)
    }

    static func run(training: [LabelledCorpus.Row], heldOut: [LabelledCorpus.Row], on runner: some SQLRunner,
                    logger: Logger) async throws -> Evaluation {
        let loaded = try await Extractor.load(from: runner, logger: logger, trainingExamples: false)
        let names = Dictionary(uniqueKeysWithValues: try await runner.all(
            "SELECT id, name FROM hotline.jurisdictions", as: (Int, String).self, logger: logger))
        return score(training: training, heldOut: heldOut, base: loaded, names: names)
    }

    /// Trains on `training` (with `base`'s places, rules and articles) and scores `heldOut`.
    static func score(training: [LabelledCorpus.Row], heldOut: [LabelledCorpus.Row], base: Extractor,
                      names: [Int: String]) -> Evaluation {
        let trainingStart = ContinuousClock.now
        let extractor = Extractor(places: base.places, training: training.map(\.example), rules: base.rules,
                                  knowledgeBase: base.knowledgeBase)
        let trainingSeconds = (ContinuousClock.now - trainingStart).seconds
        let trainedCategories = Set(training.map(\.category))

        var result = Evaluation(trainingRows: training.count, heldOutRows: heldOut.count, district: 0, placedRows: 0, street: 0,
                                category: 0, categoryLevel2: 0, urgency: 0, enterprise: 0, sensitive: 0,
                                extractionsPerSecond: 0, trainingSeconds: trainingSeconds, unseenCategory: 0,
                                confident: 0, confidentRight: 0,
                                thresholds: [0.35, 0.5, 0.6, 0.7, 0.8].map { Threshold(at: $0, rows: 0, right: 0, rightLevel2: 0) },
                                urgencyMisses: [], categoryMisses: [], districtMisses: [])
        // Timed over at least ~0.3 s of work, so a small held-out set still gives a stable rate.
        let rounds = max(1, 1_000 / max(heldOut.count, 1))
        let start = ContinuousClock.now
        var extractions: [Extraction] = []
        for _ in 0..<rounds { extractions = heldOut.map { extractor.extract(content: $0.text) } }
        result.extractionsPerSecond = Double(heldOut.count * rounds) / max((ContinuousClock.now - start).seconds, 1e-9)
        for (row, got) in zip(heldOut, extractions) {
            if !row.district.isEmpty { result.placedRows += 1 }
            let district = got.place.districtID.flatMap { names[$0] } ?? ""
            if district == row.district {
                result.district += 1
            } else {
                result.districtMisses.append("\(row.id) \(row.district.isEmpty ? "-" : row.district) → \(district.isEmpty ? "-" : district)")
            }
            if (got.place.streetID.flatMap { names[$0] } ?? "") == row.street { result.street += 1 }
            if !trainedCategories.contains(row.category) { result.unseenCategory += 1 }
            if got.categoryConfidence >= 0.35 {
                result.confident += 1
                if got.category == row.category { result.confidentRight += 1 }
            }
            if got.category == row.category {
                result.category += 1
            } else {
                result.categoryMisses.append("\(row.id) \(row.category) → \(got.category ?? "-")")
            }
            if got.category.map(Self.levels2) == Self.levels2(row.category) { result.categoryLevel2 += 1 }
            for at in [0.35, 0.5, 0.6, 0.7, 0.8] where got.categoryConfidence >= at {
                if let index = result.thresholds.firstIndex(where: { $0.at == at }) {
                    result.thresholds[index].rows += 1
                    if got.category == row.category { result.thresholds[index].right += 1 }
                    if got.category.map(Self.levels2) == Self.levels2(row.category) { result.thresholds[index].rightLevel2 += 1 }
                }
            }
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

/// What training costs on a larger table: the corpus cycled up to `rows` labelled texts, each
/// copy after the first varied (every ninth character dropped from a varying offset, clauses
/// rotated) so the copies are not identical. Real corrections would bring more new n-grams
/// than these variations, so the model size here is a lower bound.
struct ScaledTraining: Codable, Sendable {
    var rows: Int
    var seconds: Double
    var grams: Int
    /// Both classifiers' weights (4 bytes per n-gram and label).
    var modelMegabytes: Double

    static func run(corpus: [LabelledCorpus.Row], rows: Int, ignoring names: [String]) -> ScaledTraining {
        var examples: [Extractor.Example] = []
        examples.reserveCapacity(rows)
        var copy = 0
        while examples.count < rows {
            for row in corpus where examples.count < rows {
                examples.append(Extractor.Example(text: copy == 0 ? row.text : vary(row.text, copy), category: row.category,
                                                  urgency: row.urgency))
            }
            copy += 1
        }
        let start = ContinuousClock.now
        let (categories, urgencies) = Extractor.trainClassifiers(examples, ignoring: names)
        let seconds = (ContinuousClock.now - start).seconds
        let weights = categories.vocabularySize * categories.knownLabels.count + urgencies.vocabularySize * urgencies.knownLabels.count
        return ScaledTraining(rows: rows, seconds: seconds, grams: categories.vocabularySize,
                              modelMegabytes: Double(weights * 4) / 1_048_576)
    }

    private static func vary(_ text: String, _ copy: Int) -> String {
        var clauses = text.split(separator: "，").map(String.init)
        if clauses.count > 1 { clauses = Array(clauses[(copy % clauses.count)...] + clauses[..<(copy % clauses.count)]) }
        let characters = Array(clauses.joined(separator: "，"))
        return String(characters.enumerated().filter { ($0.offset + copy) % 9 != 0 }.map(\.element))
    }
}

/// k-fold cross-validation over the original corpus rows (training additions always train):
/// every original row is held out once, so a change is judged on all of them, not on one fifth.
struct CrossValidation: Codable, Sendable {
    var folds: Int
    var rows: Int
    var category: Int
    var categoryLevel2: Int
    var urgency: Int
    var district: Int
    /// Mean seconds to train both classifiers per fold.
    var trainingSeconds: Double
    /// Categories whose out-of-fold recall is below 80 %, weakest first ("label right/rows"):
    /// where the corpus needs more or clearer examples.
    var weakestCategories: [String] = []

    static func run(corpus rows: [LabelledCorpus.Row], folds: Int, on runner: some SQLRunner, logger: Logger) async throws -> CrossValidation {
        let base = try await Extractor.load(from: runner, logger: logger, trainingExamples: false)
        let names = Dictionary(uniqueKeysWithValues: try await runner.all(
            "SELECT id, name FROM hotline.jurisdictions", as: (Int, String).self, logger: logger))
        var result = CrossValidation(folds: folds, rows: 0, category: 0, categoryLevel2: 0, urgency: 0, district: 0, trainingSeconds: 0)
        var perCategory: [String: (right: Int, rows: Int)] = [:]
        for fold in 0..<folds {
            let (training, heldOut) = Evaluation.split(rows, fold: fold, of: folds)
            let scored = Evaluation.score(training: training, heldOut: heldOut, base: base, names: names)
            let missed = Set(scored.categoryMisses.map { $0.prefix { $0 != " " } })
            for row in heldOut {
                perCategory[row.category, default: (0, 0)].rows += 1
                if !missed.contains(row.id[...]) { perCategory[row.category, default: (0, 0)].right += 1 }
            }
            result.rows += scored.heldOutRows
            result.category += scored.category
            result.categoryLevel2 += scored.categoryLevel2
            result.urgency += scored.urgency
            result.district += scored.district
            result.trainingSeconds += scored.trainingSeconds / Double(folds)
        }
        result.weakestCategories = perCategory
            .filter { Double($0.value.right) < 0.8 * Double($0.value.rows) }
            .sorted { (Double($0.value.right) / Double($0.value.rows), $0.key) < (Double($1.value.right) / Double($1.value.rows), $1.key) }
            .map { "\($0.key) \($0.value.right)/\($0.value.rows)" }
        return result
    }

    func share(_ count: Int) -> Double { rows == 0 ? 0 : Double(count) / Double(rows) }
}

extension LabelledCorpus.Row {
    var example: Extractor.Example {
        Extractor.Example(text: text, category: category, urgency: urgency)
    }
}

/// `intake-extraction evaluate [--corpus PATH] [--holdout PATH] [--folds N] [--training-rows N]`:
/// prints the held-out evaluation as JSON: the fixed split's scores at the top level (the
/// benchmark reads those), `new_held_out` for the separately written held-out file (trained on
/// the whole corpus), `cross_validation` over the original corpus rows, and with
/// `--training-rows` the cost of training on a table that large (`scaled_training`).
enum EvaluateCommand {
    static func main(_ arguments: [String]) async -> Never {
        func fail(_ message: String, code: Int32) -> Never {
            FileHandle.standardError.write(Data("intake-extraction evaluate: \(message)\n".utf8))
            exit(code)
        }
        var corpusPath = "data/complaints-corpus.tsv"
        var holdoutPath: String? = "data/complaints-holdout.tsv"
        var holdoutGiven = false
        var folds = 5
        var scaledRows = 0
        let usage = "usage: intake-extraction evaluate [--corpus PATH] [--holdout PATH|none] [--folds N (0: none)] [--training-rows N]"
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            switch argument {
            case "--corpus":
                guard let path = rest.popFirst() else { fail("--corpus needs a path", code: 64) }
                corpusPath = path
            case "--holdout":
                guard let path = rest.popFirst() else { fail("--holdout needs a path", code: 64) }
                holdoutPath = path == "none" ? nil : path
                holdoutGiven = true
            case "--folds":
                guard let value = rest.popFirst().flatMap({ Int($0) }), value == 0 || value >= 2 else {
                    fail("--folds needs 0 or a number ≥ 2", code: 64)
                }
                folds = value
            case "--training-rows":
                guard let value = rest.popFirst().flatMap({ Int($0) }), value > 0 else { fail("--training-rows needs a number", code: 64) }
                scaledRows = value
            case "--help", "-h":
                print(usage)
                exit(0)
            default:
                fail("unknown argument \(argument); \(usage)", code: 64)
            }
        }
        var logger = Logger(label: "evaluate")
        logger.logLevel = .warning
        do {
            let rows = try LabelledCorpus.read(path: corpusPath)
            // The default held-out file is optional (run elsewhere, the corpus is evaluated alone).
            var holdout: [LabelledCorpus.Row]?
            if let holdoutPath, holdoutGiven || FileManager.default.fileExists(atPath: holdoutPath) {
                holdout = try LabelledCorpus.read(path: holdoutPath)
            }
            guard let value = ProcessInfo.processInfo.environment["DATABASE_URL"] else {
                fail("DATABASE_URL is not set (the jurisdiction tree and keyword rules come from the database)", code: 78)
            }
            let url = try DatabaseURL(value)
            let report = try await PostgresClient.withRunning(
                url.clientConfiguration(applicationName: "intake-evaluate", maximumConnections: 2), backgroundLogger: logger) { client in
                var report = Report(fixedSplit: try await Evaluation.run(corpus: rows, on: client, logger: logger))
                if let holdout {
                    report.newHeldOut = try await Evaluation.run(training: rows, heldOut: holdout, on: client, logger: logger)
                }
                if folds > 0 {
                    report.crossValidation = try await CrossValidation.run(corpus: rows, folds: folds, on: client, logger: logger)
                }
                if scaledRows > 0 {
                    let places = try await PlaceResolver.load(from: client, logger: logger)
                    report.scaledTraining = ScaledTraining.run(corpus: rows, rows: scaledRows, ignoring: places.names)
                }
                return report
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            exit(0)
        } catch let error as ConfigurationError {
            fail("\(error)", code: 78)
        } catch {
            fail("\(error)", code: 1)
        }
    }
}

extension EvaluateCommand {
    /// The fixed split's fields at the top level (as before), the other measurements beside them.
    struct Report: Encodable {
        var fixedSplit: Evaluation
        var newHeldOut: Evaluation?
        var crossValidation: CrossValidation?
        var scaledTraining: ScaledTraining?

        enum CodingKeys: String, CodingKey { case newHeldOut, crossValidation, scaledTraining }

        func encode(to encoder: any Encoder) throws {
            try fixedSplit.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encodeIfPresent(newHeldOut, forKey: .newHeldOut)
            try container.encodeIfPresent(crossValidation, forKey: .crossValidation)
            try container.encodeIfPresent(scaledTraining, forKey: .scaledTraining)
        }
    }
}
