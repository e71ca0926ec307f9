@testable import IntakeExtraction
import Testing

@Suite("Character n-gram centroid classifier")
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
        // Labels sharing nothing with the text are left out; the rest share the probability.
        #expect(Set(predictions.prefix(2).map(\.label)) == ["power", "water"])
        #expect(!predictions.map(\.label).contains("street_vendors"))
        #expect(predictions.map(\.probability).reduce(0, +) <= 1 + 1e-9)
        #expect(predictions.map(\.probability).reduce(0, +) > 0.99)
        #expect(zip(predictions, predictions.dropFirst()).allSatisfy { $0.probability >= $1.probability })
        // A clear complaint is confident, a text unlike any example is not.
        #expect((TextClassifier(examples: Self.examples).predict("小区停水了").first?.probability ?? 0) > 0.8)
        #expect((TextClassifier(examples: Self.examples).predict("咨询护照办理流程").first?.probability ?? 1) < 0.8)
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
