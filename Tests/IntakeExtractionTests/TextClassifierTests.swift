@testable import IntakeExtraction
import Testing

@Suite("Character n-gram linear SVM classifier")
struct TextClassifierTests {
    static let examples: [(text: String, label: String)] = [
        ("小区停水两天了，什么时候来水", "water"), ("家里自来水发黄有异味", "water"), ("水管爆了一直没人修，停水", "water"),
        ("楼里突然断水也没通知", "water"), ("水压太低，高层用不上水", "water"),
        ("整栋楼停电了，冰箱东西都坏了", "power"), ("电压不稳灯一直闪", "power"), ("小区晚上经常跳闸停电", "power"),
        ("供电局说检修但是停电三天", "power"), ("变压器响声很大还冒火花", "power"),
        ("暖气不热，家里只有十二度", "heating"), ("供暖开始了我家暖气片是凉的", "heating"), ("热力公司收了取暖费不供热", "heating"),
        ("暖气管道漏水，屋里温度很低", "heating"), ("集中供暖温度不达标", "heating"),
        ("夜市烧烤油烟太大，占道经营", "street_vendors"), ("路边摊占道经营堵住人行道", "street_vendors"), ("小贩晚上在路口摆摊吵得不行", "street_vendors"),
        ("门口早市占道，车过不去", "street_vendors"), ("流动摊贩乱摆乱放没人管", "street_vendors"),
    ]

    @Test func learnsCategoriesFromExamples() {
        let classifier = TextClassifier(examples: Self.examples)
        #expect(classifier.knownLabels.count == 4)
        for (text, label) in [("我们这里又停水了", "water"), ("今天小区又停电", "power"), ("屋里暖气一点都不热", "heating"),
                              ("楼下烧烤摊占道经营到半夜", "street_vendors"), ("自来水浑浊发黄", "water")] {
            let top = classifier.predict(text).first
            #expect(top?.label == label, "\(text) → \(String(describing: top))")
        }
    }

    @Test func probabilitiesAreCalibratedAmongLabelsAndRanked() {
        let predictions = TextClassifier(examples: Self.examples).predict("停电停水都有", limit: 4)
        // Every label gets a share; the two the text is about come first, the unrelated one last.
        #expect(Set(predictions.prefix(2).map(\.label)) == ["power", "water"])
        #expect(predictions.last?.label == "street_vendors")
        #expect(abs(predictions.map(\.probability).reduce(0, +) - 1) < 1e-9)
        #expect(zip(predictions, predictions.dropFirst()).allSatisfy { $0.probability >= $1.probability })
        // A clear complaint is confident; for a text unlike any example no machine says yes.
        let classifier = TextClassifier(examples: Self.examples)
        #expect((classifier.predict("小区停水了").first?.probability ?? 0) > 0.8)
        #expect(classifier.decisionValues("咨询护照办理流程").values.allSatisfy { $0 < 0 })
        #expect(classifier.decisionValues("小区停水了")["water"]! > classifier.decisionValues("咨询护照办理流程").values.max()! + 0.3)
    }

    @Test func decisionValuesSeparateTheLabels() {
        let classifier = TextClassifier(examples: Self.examples)
        let values = classifier.decisionValues("楼里停电了")
        #expect(values.count == 4)
        #expect(values["power"]! > 0, "the machine for power says yes")
        #expect(values.filter { $0.key != "power" }.values.allSatisfy { $0 < 0 }, "\(values)")
        // What rules add moves a close call, and only the label it is given to.
        let close = classifier.predict("停电停水都有", limit: 1).first?.label
        let other = close == "water" ? "power" : "water"
        #expect(classifier.predict("停电停水都有", limit: 1, adding: [other: 1]).first?.label == other)
    }

    @Test func trainingIsReproducible() {
        let first = TextClassifier(examples: Self.examples).predict("暖气和自来水都不行", limit: 4)
        let second = TextClassifier(examples: Self.examples).predict("暖气和自来水都不行", limit: 4)
        #expect(first == second)
    }

    @Test func aRareLabelIsLearntFromAFewExamples() {
        // Two examples against twenty: balancing keeps the rare label's machine from saying no to everything.
        let classifier = TextClassifier(examples: Self.examples + [("电梯困人半天没人来修", "lift"), ("电梯老是停在半截", "lift")])
        #expect(classifier.predict("电梯又坏了半天没人修").first?.label == "lift")
    }

    @Test func correctionsChangeWhatItLearns() {
        let text = "燃气表不走字了"
        let before = TextClassifier(examples: Self.examples).predict(text).first?.label
        let corrected = Self.examples + [("燃气表坏了不走字", "gas"), ("燃气灶打不着火，燃气公司不来", "gas"), ("燃气管道有味道", "gas")]
        #expect(before != "gas")
        #expect(TextClassifier(examples: corrected).predict(text).first?.label == "gas")
    }

    @Test func placeNamesAreIgnored() {
        let classifier = TextClassifier(examples: Self.examples + [("雁塔区小寨路有事反映", "other")], ignoring: ["雁塔区", "小寨路"])
        #expect(classifier.predict("雁塔区小寨路停水了").first?.label == "water")
        #expect(classifier.predict("雁塔区小寨路").isEmpty, "nothing but place names: no evidence")
    }

    @Test func normalisationFoldsWhatVariesBetweenCallers() {
        #expect(TextClassifier.normalise("３号楼，ＡＢ单元 停水!") == "0号楼ab单元停水")
        #expect(TextClassifier.features("停水").isSuperset(of: ["停", "水", "停水"].map(TextClassifier.gram)))
        #expect(TextClassifier.features("雁塔区停水", ignoring: PhraseMatcher(["雁塔区"])) == TextClassifier.features("停水"))
    }
}
