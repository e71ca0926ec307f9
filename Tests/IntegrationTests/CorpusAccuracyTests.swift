@testable import IntakeExtraction
import Foundation
import Logging
import PostgresNIO
import Shared
import Testing

/// The labelled corpus (data/complaints-corpus.tsv) split by id into training and held-out
/// rows: the extractor trained on the first is scored on the second.
@Suite("Extraction accuracy on the held-out corpus")
struct CorpusAccuracyTests {
    static func corpus() throws -> [LabelledCorpus.Row] {
        try LabelledCorpus.read(path: Repository.root.appendingPathComponent("data/complaints-corpus.tsv").path)
    }

    @Test func heldOutAccuracy() async throws {
        let rows = try Self.corpus()
        #expect(rows.count >= 300)
        // Every fifth row is held out; the classifier never sees it.
        let heldOut = rows.enumerated().filter { $0.offset % 5 == 4 }.map(\.element)
        let training = rows.enumerated().filter { $0.offset % 5 != 4 }.map(\.element)
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                // Places and the keyword rules from the database; the classifier from the training rows only.
                let loaded = try await Extractor.load(from: client, logger: db.logger)
                let names = Dictionary(uniqueKeysWithValues: try await client.all(
                    "SELECT id, name FROM hotline.jurisdictions", as: (Int, String).self, logger: db.logger))
                let extractor = Extractor(places: loaded.places,
                                          categories: TextClassifier(examples: training.map { ($0.text, $0.category) }),
                                          rules: loaded.rules)
                var district = 0, category = 0, urgency = 0, placed = 0
                var misses: [String] = []
                for row in heldOut {
                    let result = extractor.extract(content: row.text)
                    let gotDistrict = result.place.districtID.flatMap { names[$0] } ?? ""
                    if gotDistrict == row.district { district += 1 }
                    if !row.district.isEmpty { placed += 1 }
                    if result.category == row.category { category += 1 }
                    if result.urgency == row.urgency { urgency += 1 } else { misses.append("\(row.id) \(row.urgency)→\(result.urgency)") }
                }
                let n = Double(heldOut.count)
                // Floors at today's measured level (district 0.95, urgency 0.77, category 0.26 on
                // 87 held-out rows), so a regression fails; the targets are higher.
                #expect(Double(district) / n >= 0.9, "district \(district)/\(heldOut.count)")
                #expect(Double(urgency) / n >= 0.7, "urgency \(urgency)/\(heldOut.count): \(misses.prefix(10))")
                #expect(Double(category) / n >= 0.2, "category \(category)/\(heldOut.count)")
                #expect(placed > 0)
            }
        }
    }
}
