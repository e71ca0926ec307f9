@testable import IntakeExtraction
import Logging
import PostgresNIO
import Shared
import Testing

/// Place resolution over the seeded Xi'an jurisdiction tree.
@Suite("Place resolution over the seeded tree")
struct PlaceResolutionTests {
    @Test(arguments: [
        ("雁塔区小寨路夜市占道经营，噪音很大", "雁塔区", "小寨路街道"),
        ("高新区丈八街道一小区门口路灯不亮", "西安高新技术产业开发区", "丈八街道"),
        ("经开区凤城那边工地半夜施工", "西安经济技术开发区", "凤城街道"),
        ("碑林文艺路这边下水道堵了", "碑林区", "文艺路街道"),
        ("长安区韦曲街道供暖不热", "长安区", "韦曲街道"),
        ("临潼骊山街道景区门口乱收费", "临潼区", "骊山街道"),
        ("蓝田县汤峪镇停电两天了", "蓝田县", "汤峪镇"),
        ("户县甘亭街道自来水浑浊", "鄠邑区", "甘亭街道"),
        // Landmarks (hotline.landmarks) give their district; the common short form of a street.
        ("兵马俑停车场出来那条路上垃圾没人扫", "临潼区", nil),
        ("北客站出租车排队拒载", "未央区", nil),
        ("小寨那边夜市吵到半夜", "雁塔区", "小寨路街道"),
    ] as [(String, String, String?)])
    func resolvesDistrictAndStreet(text: String, district: String, street: String?) async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let resolver = try await PlaceResolver.load(from: client, logger: db.logger)
                let place = resolver.resolve(text)
                let names = try await client.all(
                    "SELECT id, name FROM hotline.jurisdictions WHERE id = ANY (\([place.districtID ?? -1, place.streetID ?? -1])::int[])",
                    as: (Int, String).self, logger: db.logger)
                let byID = Dictionary(uniqueKeysWithValues: names)
                #expect(place.districtID.flatMap { byID[$0] } == district, "\(text)")
                #expect(place.streetID.flatMap { byID[$0] } == street, "\(text)")
            }
        }
    }
}
