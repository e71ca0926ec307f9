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
    /// Knowledge-base articles for the operator, best first (codes).
    var articles: [String] = []
    /// Which rules fired, for the ticket's extraction record (why it decided).
    var matchedRules: [String] = []
}

/// Combines the pieces: caller details, place, the category classifier, keyword rules for
/// urgency and flags. Deterministic rules decide what must never be missed (an emergency, a
/// utility outage); the classifier decides the category and the rest.
struct Extractor: Sendable {
    /// One labelled text the classifiers learn from.
    struct Example: Sendable {
        var text: String
        var category: String?
        var urgency: String?
    }

    let places: PlaceResolver
    let categories: TextClassifier
    let urgencies: TextClassifier
    let rules: [KeywordRule]
    let knowledgeBase: KnowledgeBase
    private let ruleMatcher: PhraseMatcher

    init(places: PlaceResolver, training: [Example], rules: [KeywordRule], knowledgeBase: KnowledgeBase = KnowledgeBase([])) {
        let (categories, urgencies) = Self.trainClassifiers(training, ignoring: places.names)
        self.init(places: places, categories: categories, urgencies: urgencies, rules: rules, knowledgeBase: knowledgeBase)
    }

    init(places: PlaceResolver, categories: TextClassifier, urgencies: TextClassifier, rules: [KeywordRule],
         knowledgeBase: KnowledgeBase = KnowledgeBase([])) {
        self.places = places
        self.categories = categories
        self.urgencies = urgencies
        self.rules = rules
        self.ruleMatcher = PhraseMatcher(rules.map(\.phrase))
        self.knowledgeBase = knowledgeBase
    }

    /// The category and urgency classifiers. Place names say where, not what: left out of both.
    static func trainClassifiers(_ training: [Example], ignoring names: [String]) -> (categories: TextClassifier, urgencies: TextClassifier) {
        (TextClassifier(examples: training.compactMap { e in e.category.map { (e.text, $0) } }, ignoring: names, parameters: .categories),
         TextClassifier(examples: training.compactMap { e in e.urgency.map { (e.text, $0) } }, ignoring: names, parameters: .urgencies))
    }

    /// What one category rule of weight 1 adds to the classifier's decision value for its
    /// category (decision values span about −1.5…1.5; a clear text wins by 0.5 or more).
    static let ruleBonus = 0.1

    func extract(content: String, address: String? = nil) -> Extraction {
        var result = Extraction()
        let text = [content, address ?? ""].joined(separator: "，")
        let caller = CallerDetails(scanning: content)
        result.phones = caller.phones
        result.idNumbers = caller.idNumbers
        result.place = places.resolve(address.map { $0 + "，" + content } ?? content)

        let fired = Set(ruleMatcher.matches(in: text).map(\.phrase)).sorted().map { rules[$0] }
        result.matchedRules = fired.map { "\($0.ruleSet.rawValue):\($0.target):\($0.phrase)" }
        func votes(_ set: KeywordRule.RuleSet) -> [String: Double] {
            fired.filter { $0.ruleSet == set }.reduce(into: [:]) { $0[$1.target, default: 0] += $1.weight }
        }

        // Category: the classifier's decision value for each category, plus a small bonus for
        // each category rule that fires (dispatchers' phrases tip close calls, not clear ones).
        if let top = categories.predict(content, limit: 1, adding: votes(.category).mapValues { Self.ruleBonus * $0 }).first {
            result.category = top.label
            result.categoryConfidence = top.probability
        }

        result.flags = Set(votes(.flag).keys)
        // Urgency: rules first for what must never be missed or mislabelled (an emergency, a
        // utility outage, a company's complaint, a historical matter); otherwise the urgency
        // classifier when it is confident; otherwise normal.
        let urgencyVotes = votes(.urgency)
        let guess = urgencies.predict(content, limit: 1).first
        if urgencyVotes["emergency"] != nil {
            (result.urgency, result.urgencyConfidence) = ("emergency", 0.9)
        } else if guess?.label == "emergency", let guess, guess.probability >= 0.8 {
            (result.urgency, result.urgencyConfidence) = ("emergency", guess.probability)
        } else if urgencyVotes["basic_livelihood"] != nil {
            (result.urgency, result.urgencyConfidence) = ("basic_livelihood", 0.9)
        } else if urgencyVotes["enterprise"] != nil {
            (result.urgency, result.urgencyConfidence) = ("enterprise", 0.8)
        } else if urgencyVotes["complex"] != nil {
            (result.urgency, result.urgencyConfidence) = ("complex", 0.7)
        } else if let guess {
            (result.urgency, result.urgencyConfidence) = (guess.label, guess.probability)
        } else {
            (result.urgency, result.urgencyConfidence) = ("normal", 0.6)
        }
        if result.urgency == "enterprise" { result.flags.insert("enterprise") }
        result.articles = knowledgeBase.suggest(for: content, category: result.category)
        return result
    }
}
