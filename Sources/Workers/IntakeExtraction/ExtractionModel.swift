import Foundation
import Logging
import PostgresNIO
import Shared

extension Extractor {
    /// Builds the extractor from the database: the jurisdiction tree, the active keyword rules,
    /// and a classifier trained on every labelled text.
    /// With `trainingExamples: false` the classifiers start empty (the evaluation trains its own).
    static func load(from runner: some SQLRunner, logger: Logger, trainingExamples: Bool = true) async throws -> Extractor {
        let places = try await PlaceResolver.load(from: runner, logger: logger)
        let rules = try await runner.all(
            "SELECT rule_set, target, phrase, weight::float8 FROM hotline.extraction_rules WHERE active",
            as: (String, String, String, Double).self, logger: logger
        ).compactMap { row in
            KeywordRule.RuleSet(rawValue: row.0).map { KeywordRule(ruleSet: $0, target: row.1, phrase: row.2, weight: row.3) }
        }
        let examples = trainingExamples ? try await runner.all("""
            SELECT l.text, c.label, l.urgency_class FROM hotline.labelled_texts l LEFT JOIN hotline.categories c ON c.id = l.category_id
            """, as: (String, String?, String?).self, logger: logger) : []
        return Extractor(places: places, training: examples.map { Extractor.Example(text: $0.0, category: $0.1, urgency: $0.2) },
                         rules: rules, knowledgeBase: try await KnowledgeBase.load(from: runner, logger: logger))
    }
}

/// The extractor this process uses, rebuilt every 5 minutes so edited rules and new
/// corrections take effect without a restart.
typealias ExtractionModel = Reloading<Extractor>

extension Reloading where Value == Extractor {
    init() {
        self.init(every: .seconds(300)) { client, logger in
            let extractor = try await Extractor.load(from: client, logger: logger)
            logger.info("extraction model loaded", metadata: ["categories": "\(extractor.categories.knownLabels.count)",
                                                               "rules": "\(extractor.rules.count)"])
            return extractor
        }
    }
}
