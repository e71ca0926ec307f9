/// One keyword rule: when `phrase` occurs in a complaint, it votes for `target` in its rule set.
/// Rules are data (they will live in a table ops can edit); `defaults` is the starting set.
struct KeywordRule: Equatable, Sendable {
    enum RuleSet: String, Sendable { case urgency, flag, category }
    let ruleSet: RuleSet
    let target: String
    let phrase: String
    var weight: Double = 1
}

/// Everything intake-extraction fills in for one ticket.
struct Extraction: Equatable, Sendable {
    var phones: [String] = []
    var idNumbers: [String] = []
    var place = ResolvedPlace(confidence: 0)
    var category: String?
    var categoryConfidence: Double = 0
    var urgency = "normal"
    var urgencyConfidence: Double = 0
    /// sensitive, enterprise, unreasonable, unclear_responsibility
    var flags: Set<String> = []
    /// Which rules fired, for the ticket's extraction record (why it decided).
    var matchedRules: [String] = []
}

/// Combines the pieces: caller details, place, the category classifier, keyword rules for
/// urgency and flags. Deterministic rules decide what must never be missed (an emergency, a
/// utility outage); the classifier decides the category and the rest.
struct Extractor: Sendable {
    let places: PlaceResolver
    let categories: TextClassifier
    let rules: [KeywordRule]

    /// Categories whose complaints are basic livelihood (水电气热) and go straight to the utility.
    /// (Urgency comes from rules only: with little training data the classifier leans to these
    /// large categories, and a wrong 24-hour class is worse than a missed one.)
    static let utilityCategories: Set<String> = [
        "城乡建设/城市建设和市政管理/自来水供应", "城乡建设/城市建设和市政管理/电力供应",
        "城乡建设/城市建设和市政管理/燃气供应", "城乡建设/城市建设和市政管理/冬季采暖",
    ]

    func extract(content: String, address: String? = nil) -> Extraction {
        var result = Extraction()
        let text = [content, address ?? ""].joined(separator: "，")
        let caller = CallerDetails(scanning: content)
        result.phones = caller.phones
        result.idNumbers = caller.idNumbers
        result.place = places.resolve(address.map { $0 + "，" + content } ?? content)

        let fired = rules.filter { text.contains($0.phrase) }
        result.matchedRules = fired.map { "\($0.ruleSet.rawValue):\($0.target):\($0.phrase)" }
        func votes(_ set: KeywordRule.RuleSet) -> [String: Double] {
            fired.filter { $0.ruleSet == set }.reduce(into: [:]) { $0[$1.target, default: 0] += $1.weight }
        }

        // Category: the classifier, unless it is unsure and a category rule speaks clearly.
        if let top = categories.predict(content, limit: 1).first {
            result.category = top.label
            result.categoryConfidence = top.probability
        }
        if let (label, weight) = votes(.category).max(by: { $0.value < $1.value }),
           result.categoryConfidence < 0.5 || result.category == label {
            result.category = label
            result.categoryConfidence = max(result.categoryConfidence, min(0.9, 0.6 + 0.1 * weight))
        }

        result.flags = Set(votes(.flag).keys)
        let urgencyVotes = votes(.urgency)
        if urgencyVotes["emergency"] != nil {
            result.urgency = "emergency"
            result.urgencyConfidence = 0.9
        } else if urgencyVotes["basic_livelihood"] != nil {
            result.urgency = "basic_livelihood"
            result.urgencyConfidence = 0.9
        } else if result.flags.contains("enterprise") || urgencyVotes["enterprise"] != nil {
            result.urgency = "enterprise"
            result.urgencyConfidence = 0.8
            result.flags.insert("enterprise")
        } else if urgencyVotes["complex"] != nil {
            result.urgency = "complex"
            result.urgencyConfidence = 0.7
        } else {
            result.urgency = "normal"
            result.urgencyConfidence = 0.7
        }
        return result
    }
}
