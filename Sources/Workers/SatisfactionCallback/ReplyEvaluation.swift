import Foundation

/// A labelled survey reply from data/callback-replies.tsv.
struct LabelledReply: Sendable {
    let id: String
    let reply: String
    let expected: ReplyReading
}

enum ReplyCorpus {
    struct FormatError: Error, CustomStringConvertible {
        let description: String
    }

    /// Reads the TSV (id, reply, resolved yes/no/-/unclear, satisfaction …/-/unclear).
    static func read(path: String) throws -> [LabelledReply] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var rows: [LabelledReply] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            if number == 0 && fields.first == "id" { continue }
            guard fields.count == 4 else { throw FormatError(description: "\(path):\(number + 1): expected 4 tab-separated fields, found \(fields.count)") }
            let expected: ReplyReading
            if fields[2] == "unclear" || fields[3] == "unclear" {
                expected = .unclear("labelled unclear")
            } else {
                let resolved: Bool?
                switch fields[2] {
                case "yes": resolved = true
                case "no": resolved = false
                case "-": resolved = nil
                default: throw FormatError(description: "\(path):\(number + 1): resolved must be yes, no, - or unclear, not \(fields[2])")
                }
                let satisfaction: Satisfaction?
                if fields[3] == "-" {
                    satisfaction = nil
                } else if let value = Satisfaction(rawValue: fields[3]) {
                    satisfaction = value
                } else {
                    throw FormatError(description: "\(path):\(number + 1): unknown satisfaction \(fields[3])")
                }
                expected = .answer(resolved: resolved, satisfaction: satisfaction)
            }
            rows.append(LabelledReply(id: fields[0], reply: fields[1], expected: expected))
        }
        return rows
    }
}

/// How the parser does on labelled replies. A wrong answer (a guess) is worse than sending a
/// readable reply to an operator, so the two are counted apart.
struct ReplyScore: Sendable {
    var total = 0
    var correct = 0
    /// Read as an answer that differs from the label: the costly mistake.
    var wrongAnswers: [(LabelledReply, ReplyReading)] = []
    /// Sent to an operator although a person could read it.
    var needlessOperator: [(LabelledReply, ReplyReading)] = []

    /// What the worker does with the reading — operator call, reopen, or leave closed — matches
    /// what the label calls for, even where a detail (e.g. "resolved" unsaid) differs.
    var sameDecision = 0

    var accuracy: Double { total == 0 ? 0 : Double(correct) / Double(total) }
    var decisionAccuracy: Double { total == 0 ? 0 : Double(sameDecision) / Double(total) }

    enum Decision: Equatable { case operatorCall, reopen, keepClosed }

    static func decision(_ reading: ReplyReading) -> Decision {
        switch reading {
        case .unclear: .operatorCall
        case .answer(let resolved, let satisfaction): (satisfaction == .unsatisfied || resolved == false) ? .reopen : .keepClosed
        }
    }

    init(_ rows: [LabelledReply], parser: ReplyParser = ReplyParser()) {
        for row in rows {
            total += 1
            let got = parser.read(row.reply)
            if Self.decision(got) == Self.decision(row.expected) { sameDecision += 1 }
            switch (row.expected, got) {
            case (.unclear, .unclear): correct += 1
            case (.answer, .unclear): needlessOperator.append((row, got))
            case let (expected, got) where expected == got: correct += 1
            default: wrongAnswers.append((row, got))
            }
        }
    }

    var report: String {
        var lines = [String(format: "replies: %d, read exactly as labelled: %d (%.1f %%), same decision (operator / reopen / closed): %.1f %%, wrong answers: %d, needless operator calls: %d",
                            total, correct, 100 * accuracy, 100 * decisionAccuracy, wrongAnswers.count, needlessOperator.count)]
        for (row, got) in wrongAnswers + needlessOperator {
            lines.append("  \(row.id) \(row.reply)  expected \(row.expected)  got \(got)")
        }
        return lines.joined(separator: "\n")
    }
}

/// `satisfaction-callback evaluate-replies [--corpus data/callback-replies.tsv …]`: prints each
/// corpus's score and its misses; exits 1 when a file cannot be read.
enum EvaluateReplies {
    static func main(_ arguments: [String]) -> Never {
        var paths: [String] = []
        var index = 0
        while index < arguments.count {
            if arguments[index] == "--corpus", index + 1 < arguments.count {
                paths.append(arguments[index + 1])
                index += 2
            } else {
                FileHandle.standardError.write(Data("usage: satisfaction-callback evaluate-replies [--corpus FILE]…\n".utf8))
                exit(64)
            }
        }
        if paths.isEmpty { paths = ["data/callback-replies.tsv", "data/callback-replies-holdout.tsv"] }
        for path in paths {
            do {
                print("\(path): \(ReplyScore(try ReplyCorpus.read(path: path)).report)")
            } catch {
                FileHandle.standardError.write(Data("\(path): \(error)\n".utf8))
                exit(1)
            }
        }
        exit(0)
    }
}
