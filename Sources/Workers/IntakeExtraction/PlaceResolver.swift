import Foundation
import Logging
import PostgresNIO
import Shared

/// One node of the jurisdiction tree (hotline.jurisdictions).
struct Jurisdiction: Equatable, Sendable {
    enum Level: String, Sendable { case city, district, county, development_zone, street, town, community }
    let id: Int
    let name: String
    let level: Level
    let parentID: Int?
    let aliases: [String]

    var isDistrictLevel: Bool { level == .district || level == .county || level == .development_zone }
    var isStreetLevel: Bool { level == .street || level == .town }
}

/// Where a complaint is, as far as its text tells.
struct ResolvedPlace: Equatable, Sendable {
    var districtID: Int?
    var streetID: Int?
    var communityID: Int?
    /// The free address: from the first place mentioned to the end of that clause.
    var address: String?
    /// 0…1: an explicit district is surer than one inferred from a street, and a street name
    /// that several districts share is a guess.
    var confidence: Double
}

/// Finds districts, counties, development zones, streets, towns and communities in complaint
/// text by their names and the short forms people use (雁塔 / 雁塔区, 高新 / 高新区, 小寨路 /
/// 小寨路街道), preferring the longest mention (大雁塔街道 is a street, not 雁塔区).
struct PlaceResolver: Sendable {
    private let nodes: [Int: Jurisdiction]
    /// Surface forms, longest first.
    private let forms: [(text: String, id: Int)]
    private let matcher: PhraseMatcher
    /// The jurisdictions' own names and aliases (not landmarks, whose names say what as well as where).
    private let jurisdictionNames: [String]

    /// `landmarks`: names callers use instead of an address, each standing for the
    /// jurisdiction it lies in (a mention of one is a mention of that district or street).
    init(_ jurisdictions: [Jurisdiction], landmarks: [(names: [String], jurisdictionID: Int)] = []) {
        nodes = Dictionary(uniqueKeysWithValues: jurisdictions.map { ($0.id, $0) })
        var forms: [(String, Int)] = []
        for node in jurisdictions where node.level != .city {
            for form in Set([node.name] + node.aliases) where form.count >= 2 {
                forms.append((form, node.id))
            }
        }
        let jurisdictionNames = forms.map(\.0)
        for landmark in landmarks where nodes[landmark.jurisdictionID].map({ $0.level != .city }) ?? false {
            for form in Set(landmark.names) where form.count >= 2 {
                forms.append((form, landmark.jurisdictionID))
            }
        }
        self.forms = forms.sorted { $0.0.count > $1.0.count }
        self.matcher = PhraseMatcher(self.forms.map(\.text))
        self.jurisdictionNames = jurisdictionNames
    }

    /// Every jurisdiction name and alias (and the city's): what the classifiers ignore.
    var names: [String] {
        jurisdictionNames + nodes.values.filter { $0.level == .city }.flatMap { [$0.name] + $0.aliases }
    }

    private struct Mention {
        let node: Jurisdiction
        let range: Range<Int>
    }

    func resolve(_ text: String) -> ResolvedPlace {
        let scalars = Array(text.unicodeScalars)
        var taken: [Range<Int>] = []
        var mentions: [Mention] = []
        // Longest forms first (then text order), as a reader would.
        let found = matcher.matches(in: scalars).sorted { ($0.length, -$0.start) > ($1.length, -$1.start) }
        for match in found {
            let range = match.start..<match.end
            // A longer mention hides a shorter one inside it; the same words can still name
            // several places (same-named streets), which all count.
            if taken.contains(where: { $0.overlaps(range) && $0 != range }) { continue }
            taken.append(range)
            if let node = nodes[forms[match.phrase].id] { mentions.append(Mention(node: node, range: range)) }
        }
        mentions.sort { $0.range.lowerBound < $1.range.lowerBound }
        guard !mentions.isEmpty else { return ResolvedPlace(confidence: 0) }

        let districts = mentions.filter { $0.node.isDistrictLevel }
        let streets = mentions.filter { $0.node.isStreetLevel }
        let communities = mentions.filter { $0.node.level == .community }

        var place = ResolvedPlace(confidence: 0)
        if let district = districts.first {
            place.districtID = district.node.id
            place.confidence = 0.95
            // A street under the named district; else none (a mismatch is left for a person).
            place.streetID = streets.first { $0.node.parentID == district.node.id }?.node.id
        } else if let street = streets.first {
            // Same-named streets (a development zone runs some of its host district's streets):
            // take the first, with lower confidence.
            let sameWords = streets.filter { $0.range == street.range }
            place.streetID = street.node.id
            place.districtID = street.node.parentID
            place.confidence = sameWords.count > 1 ? 0.6 : 0.85
        }
        if let streetID = place.streetID {
            place.communityID = communities.first { $0.node.parentID == streetID }?.node.id
        } else if let community = communities.first, let street = community.node.parentID.flatMap({ nodes[$0] }) {
            place.communityID = community.node.id
            place.streetID = street.id
            if place.districtID == nil {
                place.districtID = street.parentID
                place.confidence = 0.8
            }
        }
        let start = text.unicodeScalars.index(text.unicodeScalars.startIndex, offsetBy: mentions[0].range.lowerBound)
        place.address = Self.clause(in: text, from: start)
        return place
    }

    /// The text from `start` to the end of its clause (Chinese or ASCII punctuation), at most 60 characters.
    static func clause(in text: String, from start: String.Index) -> String {
        let stops: Set<Character> = ["，", "。", "；", "！", "？", ",", ";", "!", "?", "\n", "、"]
        var end = start
        var count = 0
        while end < text.endIndex, !stops.contains(text[end]), count < 60 {
            end = text.index(after: end)
            count += 1
        }
        return String(text[start..<end])
    }
}

extension PlaceResolver {
    /// The resolver over the jurisdiction tree in the database (hotline.jurisdictions).
    static func load(from runner: some SQLRunner, logger: Logger) async throws -> PlaceResolver {
        let rows = try await runner.all(
            "SELECT id, name, level, parent_id, aliases FROM hotline.jurisdictions ORDER BY id",
            as: (Int, String, String, Int?, [String]).self, logger: logger)
        let landmarks = try await runner.all(
            "SELECT name, aliases, jurisdiction_id FROM hotline.landmarks ORDER BY id", as: (String, [String], Int).self, logger: logger)
        return PlaceResolver(rows.compactMap { row in
            Jurisdiction.Level(rawValue: row.2).map {
                Jurisdiction(id: row.0, name: row.1, level: $0, parentID: row.3, aliases: row.4)
            }
        }, landmarks: landmarks.map { ([$0.0] + $0.1, $0.2) })
    }
}
