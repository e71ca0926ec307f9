import Dispatch
import Foundation
import Logging
import PostgresNIO
import Shared
import Synchronization

extension Extractor {
    /// Builds the extractor from the database: the jurisdiction tree, the active keyword rules,
    /// and classifiers trained on every labelled text.
    /// With `trainingExamples: false` the classifiers start empty (the evaluation trains its own).
    /// With a `cache`, classifiers trained earlier from the same examples are reused.
    static func load(from runner: some SQLRunner, logger: Logger, trainingExamples: Bool = true,
                     cache: TrainedClassifiers? = nil) async throws -> Extractor {
        let places = try await PlaceResolver.load(from: runner, logger: logger)
        let rules = try await runner.all(
            "SELECT rule_set, target, phrase, weight::float8 FROM hotline.extraction_rules WHERE active",
            as: (String, String, String, Double).self, logger: logger
        ).compactMap { row in
            KeywordRule.RuleSet(rawValue: row.0).map { KeywordRule(ruleSet: $0, target: row.1, phrase: row.2, weight: row.3) }
        }
        let examples = trainingExamples ? try await runner.all("""
            SELECT l.text, c.label, l.urgency_class FROM hotline.labelled_texts l LEFT JOIN hotline.categories c ON c.id = l.category_id
             ORDER BY l.id
            """, as: (String, String?, String?).self, logger: logger).map { Example(text: $0.0, category: $0.1, urgency: $0.2) } : []
        let knowledgeBase = try await KnowledgeBase.load(from: runner, logger: logger)
        let (classifiers, trainedNow) = await (cache ?? TrainedClassifiers()).classifiers(for: examples, ignoring: places.names)
        if trainedNow {
            logger.info("extraction classifiers trained", metadata: [
                "examples": "\(examples.count)", "seconds": "\(String(format: "%.2f", classifiers.seconds))",
                "categories": "\(classifiers.categories.knownLabels.count)", "grams": "\(classifiers.categories.vocabularySize)",
            ])
        }
        return Extractor(places: places, categories: classifiers.categories, urgencies: classifiers.urgencies,
                         rules: rules, knowledgeBase: knowledgeBase)
    }
}

/// The classifiers a process trained last, with what they were trained from: a reload whose
/// labelled texts (and place names) are unchanged reuses them instead of training again, so the
/// 5-minute reload costs a query, not a training run. Training runs on its own thread, off the
/// cooperative pool (it takes a second or more on a large table).
final class TrainedClassifiers: Sendable {
    struct Trained: Sendable {
        let key: Int
        let categories: TextClassifier
        let urgencies: TextClassifier
        let seconds: Double
    }

    private let last = Mutex<(trained: Trained?, runs: Int)>((nil, 0))

    /// How many times this cache has trained (for tests and logs).
    var trainingRuns: Int { last.withLock { $0.runs } }

    /// The classifiers for these examples, and whether they were trained just now.
    func classifiers(for examples: [Extractor.Example], ignoring names: [String]) async -> (Trained, trainedNow: Bool) {
        var hasher = Hasher()
        hasher.combine(examples.count)
        for example in examples {
            hasher.combine(example.text)
            hasher.combine(example.category)
            hasher.combine(example.urgency)
        }
        hasher.combine(names)
        let key = hasher.finalize()
        if let trained = last.withLock({ $0.trained }), trained.key == key { return (trained, false) }

        let trained = await withCheckedContinuation { (continuation: CheckedContinuation<Trained, Never>) in
            DispatchQueue.global(qos: .utility).async {
                let start = ContinuousClock.now
                let (categories, urgencies) = Extractor.trainClassifiers(examples, ignoring: names)
                continuation.resume(returning: Trained(key: key, categories: categories, urgencies: urgencies,
                                                       seconds: (ContinuousClock.now - start).seconds))
            }
        }
        last.withLock { $0 = (trained, $0.runs + 1) }
        return (trained, true)
    }
}

/// The extractor this process uses, rebuilt every 5 minutes so edited rules and new
/// corrections take effect without a restart.
typealias ExtractionModel = Reloading<Extractor>

extension Reloading where Value == Extractor {
    init() {
        let cache = TrainedClassifiers()
        self.init(every: .seconds(300)) { client, logger in
            let extractor = try await Extractor.load(from: client, logger: logger, cache: cache)
            logger.info("extraction model loaded", metadata: ["categories": "\(extractor.categories.knownLabels.count)",
                                                               "rules": "\(extractor.rules.count)"])
            return extractor
        }
    }
}
