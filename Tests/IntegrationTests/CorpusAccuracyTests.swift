@testable import IntakeExtraction
import Foundation
import Logging
import PostgresNIO
import Shared
import Testing

/// The labelled corpus (data/complaints-corpus.tsv) split into training and held-out rows
/// (every fifth original row held out; training additions always train), and the separately
/// written held-out file (data/complaints-holdout.tsv) scored by the extractor trained on the
/// whole corpus. The floors sit just under the measured level, so a regression fails.
@Suite("Extraction accuracy on the held-out corpus")
struct CorpusAccuracyTests {
    static func read(_ file: String) throws -> [LabelledCorpus.Row] {
        try LabelledCorpus.read(path: Repository.root.appendingPathComponent("data/\(file)").path)
    }

    /// The corpus (other suites load it as training data).
    static func corpus() throws -> [LabelledCorpus.Row] { try read("complaints-corpus.tsv") }

    @Test func heldOutAccuracy() async throws {
        let rows = try Self.corpus()
        #expect(rows.count >= 300)
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let result = try await Evaluation.run(corpus: rows, on: client, logger: db.logger)
                #expect(result.heldOutRows == rows.filter(Evaluation.isOriginal).count / 5)
                #expect(result.share(result.district) >= 0.95, "district \(result.district)/\(result.heldOutRows)")
                #expect(result.share(result.urgency) >= 0.92, "urgency \(result.urgency)/\(result.heldOutRows): \(result.urgencyMisses.prefix(10))")
                #expect(result.share(result.category) >= 0.85, "category \(result.category)/\(result.heldOutRows)")
                #expect(result.share(result.categoryLevel2) >= 0.88, "category level 2 \(result.categoryLevel2)/\(result.heldOutRows)")
                #expect(result.unseenCategory == 0, "every held-out category has training rows")
                #expect(result.placedRows > 0)
            }
        }
    }

    @Test func newHeldOutAccuracy() async throws {
        let rows = try Self.corpus()
        let heldOut = try Self.read("complaints-holdout.tsv")
        // Written apart from the corpus: no text of it may be trained on.
        #expect(Set(rows.map(\.text)).isDisjoint(with: heldOut.map(\.text)))
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let result = try await Evaluation.run(training: rows, heldOut: heldOut, on: client, logger: db.logger)
                #expect(result.heldOutRows == heldOut.count)
                #expect(result.share(result.district) >= 0.97, "district \(result.district)/\(result.heldOutRows): \(result.districtMisses)")
                #expect(result.share(result.urgency) >= 0.91, "urgency \(result.urgency)/\(result.heldOutRows): \(result.urgencyMisses.prefix(10))")
                #expect(result.share(result.category) >= 0.92, "category \(result.category)/\(result.heldOutRows)")
            }
        }
    }

    /// A training addition is never held out, whatever its position in the file.
    @Test func trainingAdditionsAreNeverHeldOut() throws {
        let ids = (1...10).map { String(format: "c%04d", $0) } + (1...7).map { String(format: "t%04d", $0) }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("split-\(UUID().uuidString).tsv")
        defer { try? FileManager.default.removeItem(at: file) }
        let lines = ["id\tchannel\ttext\tdistrict\tstreet\tcategory\turgency\tenterprise\tsensitive"]
            + ids.shuffled().map { "\($0)\tweb\t\($0)\t\t\ta/b/c\tnormal\t0\t0" }
        try lines.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        let rows = try LabelledCorpus.read(path: file.path)
        let original = rows.filter(Evaluation.isOriginal).map(\.id)
        for fold in 0..<5 {
            let (training, heldOut) = Evaluation.split(rows, fold: fold, of: 5)
            #expect(heldOut.map(\.id) == [original[fold], original[fold + 5]])
            #expect(training.count == 15 && training.filter { $0.id.hasPrefix("t") }.count == 7)
        }
    }
}
