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

extension KeywordRule {
    /// The starting dictionaries, from the hotline's rules: emergencies (risk to life or
    /// property now), utility outages (水电气热), complex matters, company complaints, and the
    /// sensitive and special-ledger flags.
    static let defaults: [KeywordRule] = {
        var rules: [KeywordRule] = []
        func add(_ set: RuleSet, _ target: String, _ phrases: [String], weight: Double = 1) {
            rules += phrases.map { KeywordRule(ruleSet: set, target: target, phrase: $0, weight: weight) }
        }
        add(.urgency, "emergency", ["着火", "起火", "火灾", "冒烟", "爆炸", "燃气泄漏", "煤气泄漏", "天然气泄漏", "闻到煤气味",
                                     "闻到燃气味", "坍塌", "塌了", "被困", "困在电梯", "电梯困人", "溺水", "触电", "电线掉",
                                     "有人跳楼", "要跳楼", "轻生", "生命危险", "倒灌", "淹了", "血流", "打人", "持刀"])
        add(.urgency, "basic_livelihood", ["停水", "断水", "没水", "不来水", "水压低", "自来水", "停电", "断电", "没电", "跳闸",
                                            "停气", "没气", "燃气", "天然气", "暖气", "供暖", "供热", "取暖", "热力"])
        add(.urgency, "complex", ["历史遗留", "多年未解决", "产权纠纷", "拆迁安置", "安置房", "回迁", "办不了房产证", "不动产证",
                                   "多个部门", "互相推诿"])
        add(.flag, "enterprise", ["我们公司", "我公司", "我司", "本公司", "我们企业", "我们厂", "企业", "营商环境", "营业执照", "拖欠工程款",
                                   "个体工商户"])
        add(.flag, "sensitive", ["跳楼", "自杀", "轻生", "不想活", "同归于尽", "拉横幅", "集体上访", "聚集", "上访", "找媒体",
                                  "曝光", "记者", "发抖音", "发到网上", "上热搜"])
        add(.flag, "unclear_responsibility", ["不知道归谁管", "没人管", "都说不归他们管", "踢皮球", "互相推诿", "推来推去"])
        add(.flag, "unreasonable", ["必须赔我", "赔偿一百万", "不给钱就"])
        add(.category, "城乡建设/城市建设和市政管理/自来水供应", ["停水", "断水", "自来水", "水压", "水发黄"], weight: 2)
        add(.category, "城乡建设/城市建设和市政管理/电力供应", ["停电", "断电", "跳闸", "电压"], weight: 2)
        add(.category, "城乡建设/城市建设和市政管理/燃气供应", ["燃气", "天然气", "煤气", "燃气表"], weight: 2)
        add(.category, "城乡建设/城市建设和市政管理/冬季采暖", ["暖气", "供暖", "供热", "取暖费", "热力"], weight: 2)
        return rules
    }()
}
