@testable import IntakeExtraction
import Testing

@Suite("Places in complaint text")
struct PlaceResolverTests {
    // A slice of the seeded tree, with the same names and aliases.
    static let tree: [Jurisdiction] = [
        Jurisdiction(id: 1, name: "西安市", level: .city, parentID: nil, aliases: ["西安"]),
        Jurisdiction(id: 2, name: "雁塔区", level: .district, parentID: 1, aliases: ["雁塔"]),
        Jurisdiction(id: 3, name: "碑林区", level: .district, parentID: 1, aliases: ["碑林"]),
        Jurisdiction(id: 4, name: "长安区", level: .district, parentID: 1, aliases: ["长安"]),
        Jurisdiction(id: 5, name: "西安高新技术产业开发区", level: .development_zone, parentID: 1, aliases: ["高新区", "高新", "西安高新区"]),
        Jurisdiction(id: 10, name: "小寨路街道", level: .street, parentID: 2, aliases: ["小寨路"]),
        Jurisdiction(id: 11, name: "大雁塔街道", level: .street, parentID: 2, aliases: ["大雁塔"]),
        Jurisdiction(id: 12, name: "鱼化寨街道", level: .street, parentID: 2, aliases: ["鱼化寨"]),
        Jurisdiction(id: 13, name: "长安路街道", level: .street, parentID: 3, aliases: ["长安路"]),
        Jurisdiction(id: 14, name: "鱼化寨街道", level: .street, parentID: 5, aliases: ["鱼化寨"]),
        Jurisdiction(id: 15, name: "丈八街道", level: .street, parentID: 5, aliases: ["丈八"]),
        Jurisdiction(id: 20, name: "小寨路社区", level: .community, parentID: 10, aliases: []),
    ]
    static let resolver = PlaceResolver(tree)

    @Test func anExplicitDistrictAndItsStreet() {
        let place = Self.resolver.resolve("雁塔区小寨路夜市占道经营，噪音很大")
        #expect(place.districtID == 2 && place.streetID == 10)
        #expect(place.address == "雁塔区小寨路夜市占道经营")
        #expect(place.confidence > 0.9)
    }

    @Test func shortFormsAndTheLongestMentionWins() {
        #expect(Self.resolver.resolve("高新丈八那边路灯不亮").districtID == 5)
        #expect(Self.resolver.resolve("高新丈八那边路灯不亮").streetID == 15)
        // 大雁塔 is a street of 雁塔区, not a mention of 雁塔 alone.
        let landmark = Self.resolver.resolve("大雁塔北广场音乐喷泉停了")
        #expect(landmark.streetID == 11 && landmark.districtID == 2)
        // 长安路 is in 碑林区, not 长安区.
        let road = Self.resolver.resolve("长安路上井盖丢了")
        #expect(road.streetID == 13 && road.districtID == 3)
    }

    @Test func aStreetAloneGivesItsDistrictAndASharedNameLowersConfidence() {
        let single = Self.resolver.resolve("小寨路社区门口垃圾没人清")
        #expect(single.districtID == 2 && single.streetID == 10 && single.communityID == 20)
        let shared = Self.resolver.resolve("鱼化寨这边天天断水")
        #expect(shared.streetID != nil)
        #expect(shared.confidence < 0.7)
        let disambiguated = Self.resolver.resolve("高新区鱼化寨这边天天断水")
        #expect(disambiguated.districtID == 5 && disambiguated.streetID == 14)
    }

    @Test func noPlaceMeansNoGuess() {
        let place = Self.resolver.resolve("咨询一下社保卡怎么补办")
        #expect(place == ResolvedPlace(confidence: 0))
    }
}
