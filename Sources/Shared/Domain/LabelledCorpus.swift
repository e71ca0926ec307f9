import Foundation
public import Logging
import PostgresNIO

/// A labelled complaint corpus (data/complaints-corpus.tsv): one reader and one loader for the
/// admin command, the tests and the benchmark.
public enum LabelledCorpus {
    public struct Row: Sendable, Equatable {
        public let id: String
        public let channel: String
        public let text: String
        public let district: String
        public let street: String
        public let category: String
        public let urgency: String
        public let enterprise: Bool
        public let sensitive: Bool

        /// A row of the original corpus (`c…`), not a training addition (`t…`, always trained on).
        public var isOriginal: Bool { id.hasPrefix("c") }
    }

    /// Reads the TSV (header line, 9 tab-separated columns); a malformed line is an error naming it.
    public static func read(path: String) throws -> [Row] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var rows: [Row] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated().dropFirst() {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 9 else {
                throw ConfigurationError(variable: path, message: "line \(number + 1) has \(f.count) fields, expected 9")
            }
            rows.append(Row(id: f[0], channel: f[1], text: f[2], district: f[3], street: f[4], category: f[5],
                            urgency: f[6], enterprise: f[7] == "1", sensitive: f[8] == "1"))
        }
        return rows
    }

    /// Stores rows as training examples (hotline.add_labelled_text, source 'corpus'); returns how
    /// many were new. Rows already loaded are kept as they were.
    public static func store(_ rows: [Row], on runner: some SQLRunner, logger: Logger) async throws -> Int {
        var added = 0
        for row in rows {
            let id = try await runner.first("""
                SELECT hotline.add_labelled_text('corpus', \(row.id), \(row.text), \(row.category), \(row.urgency),
                                                 \(row.district), \(row.street), \(row.enterprise), \(row.sensitive))
                """, as: Int64?.self, logger: logger)
            if (id ?? nil) != nil { added += 1 }
        }
        return added
    }
}
