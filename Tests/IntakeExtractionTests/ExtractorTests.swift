@testable import IntakeExtraction
import Testing

@Suite("Extraction")
struct ExtractorTests {
    static let extractor = Extractor(
        places: PlaceResolverTests.resolver,
        training: [
            ("小区停水两天了", "城乡建设/城市建设和市政管理/自来水供应"), ("自来水发黄", "城乡建设/城市建设和市政管理/自来水供应"),
            ("整栋楼停电", "城乡建设/城市建设和市政管理/电力供应"), ("暖气不热", "城乡建设/城市建设和市政管理/冬季采暖"),
            ("夜市占道经营噪音大", "城乡建设/城市建设和市政管理/城管执法"), ("路边摊占道经营", "城乡建设/城市建设和市政管理/城管执法"),
            ("工资拖欠三个月不发", "劳动和社会保障/工资福利/工资发放"), ("老板欠薪跑路", "劳动和社会保障/工资福利/工资发放"),
        ].map { Extractor.Example(text: $0.0, category: $0.1, urgency: nil) },
        rules: [
            KeywordRule(ruleSet: .urgency, target: "emergency", phrase: "着火"),
            KeywordRule(ruleSet: .urgency, target: "emergency", phrase: "被困"),
            KeywordRule(ruleSet: .urgency, target: "basic_livelihood", phrase: "停水"),
            KeywordRule(ruleSet: .category, target: "城乡建设/城市建设和市政管理/自来水供应", phrase: "停水", weight: 2),
            KeywordRule(ruleSet: .flag, target: "enterprise", phrase: "我们公司"),
            KeywordRule(ruleSet: .flag, target: "enterprise", phrase: "营业执照"),
            KeywordRule(ruleSet: .urgency, target: "enterprise", phrase: "营业执照"),
            KeywordRule(ruleSet: .flag, target: "sensitive", phrase: "集体上访"),
            KeywordRule(ruleSet: .flag, target: "sensitive", phrase: "找媒体"),
        ])

    @Test func aUtilityOutageIsBasicLivelihoodWithItsPlaceAndCaller() {
        let result = Self.extractor.extract(content: "雁塔区小寨路这边停水两天了，电话13800138000")
        #expect(result.urgency == "basic_livelihood")
        #expect(result.category == "城乡建设/城市建设和市政管理/自来水供应")
        #expect(result.place.districtID == 2 && result.place.streetID == 10)
        #expect(result.phones == ["13800138000"])
    }

    @Test func emergenciesAreNeverMissed() {
        let result = Self.extractor.extract(content: "碑林长安路一栋楼着火了，里面好像有人被困")
        #expect(result.urgency == "emergency")
        #expect(result.matchedRules.contains("urgency:emergency:着火"))
    }

    @Test func companiesAndSensitiveCallersAreFlagged() {
        let company = Self.extractor.extract(content: "我们公司在高新区办营业执照跑了五趟还没办下来")
        #expect(company.urgency == "enterprise")
        #expect(company.flags.contains("enterprise"))
        let sensitive = Self.extractor.extract(content: "工资拖欠半年了再不给我们就集体上访，还要找媒体曝光")
        #expect(sensitive.flags.contains("sensitive"))
        #expect(sensitive.category == "劳动和社会保障/工资福利/工资发放")
        #expect(sensitive.urgency == "normal")
    }

    @Test func theAddressFieldHelpsPlaceTheComplaint() {
        let result = Self.extractor.extract(content: "门口夜市占道经营噪音大", address: "西安高新区丈八街道")
        #expect(result.place.districtID == 5 && result.place.streetID == 15)
        #expect(result.category == "城乡建设/城市建设和市政管理/城管执法")
    }

    @Test func aReloadWithUnchangedExamplesDoesNotTrainAgain() async {
        let cache = TrainedClassifiers()
        let examples = [("小区停水两天了", "water"), ("整栋楼停电", "power"), ("暖气不热", "heating")].map {
            Extractor.Example(text: $0.0, category: $0.1, urgency: "basic_livelihood")
        }
        let (first, trained) = await cache.classifiers(for: examples, ignoring: ["雁塔区"])
        let (_, trainedAgain) = await cache.classifiers(for: examples, ignoring: ["雁塔区"])
        #expect(trained && !trainedAgain && cache.trainingRuns == 1)
        // A correction (a changed label) is a new training set.
        var corrected = examples
        corrected[2].category = "power"
        let (second, _) = await cache.classifiers(for: corrected, ignoring: ["雁塔区"])
        #expect(cache.trainingRuns == 2)
        #expect(first.categories.knownLabels.count == 3 && second.categories.knownLabels.count == 2)
    }
}
