import Foundation
@testable import SatisfactionCallback
import Testing

@Suite("Survey reply parsing")
struct ReplyParserTests {
    let parser = ReplyParser()

    @Test(arguments: [
        ("1", ReplyReading.answer(resolved: true, satisfaction: .satisfied)),
        ("２", .answer(resolved: true, satisfaction: .basicallySatisfied)),
        ("3", .answer(resolved: nil, satisfaction: .unsatisfied)),
        ("0", .answer(resolved: false, satisfaction: nil)),
        ("【1】谢谢", .answer(resolved: true, satisfaction: .satisfied)),
        ("不满意", .answer(resolved: nil, satisfaction: .unsatisfied)),
        ("基本满意", .answer(resolved: nil, satisfaction: .basicallySatisfied)),
        ("没有不满意", .answer(resolved: nil, satisfaction: .satisfied)),
        ("已解决，满意", .answer(resolved: true, satisfaction: .satisfied)),
        ("说是处理了其实根本没人来，不满意", .answer(resolved: false, satisfaction: .unsatisfied)),
        ("1 但是还没修好", .answer(resolved: false, satisfaction: .satisfied)),
        ("拖了10天才修好了，基本满意", .answer(resolved: true, satisfaction: .basicallySatisfied)),
        ("工单20261125-000123已经解决了", .answer(resolved: true, satisfaction: nil)),
        ("1 还不错", .answer(resolved: true, satisfaction: .satisfied)),
        ("还不错", .answer(resolved: nil, satisfaction: .satisfied)),
        ("和社区沟通了，满意", .answer(resolved: nil, satisfaction: .satisfied)),
        ("还不亮", .answer(resolved: false, satisfaction: nil)),
    ])
    func readsWhatTheReplySays(reply: String, expected: ReplyReading) {
        #expect(parser.read(reply) == expected, "\(reply)")
    }

    @Test(arguments: ["1 3", "12", "好的", "收到", "谢谢", "？", "👍", "ok", "你们是谁", "3 满意", "7"])
    func sendsWhatItCannotReadToAnOperator(reply: String) {
        guard case .unclear = parser.read(reply) else {
            Issue.record("\(reply) was read as \(parser.read(reply))")
            return
        }
    }

    static func corpus(_ name: String) throws -> [LabelledReply] {
        try ReplyCorpus.read(path: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../data/\(name)").path)
    }

    /// The corpus the parser's phrases were tuned on: its score is printed.
    @Test func theDevelopmentRepliesAreReadAsLabelled() throws {
        let rows = try Self.corpus("callback-replies.tsv")
        #expect(rows.count >= 100)
        let score = ReplyScore(rows)
        print("development: \(score.report)")
        #expect(score.accuracy >= 0.9, "\(score.report)")
        #expect(score.wrongAnswers.count <= score.total / 20, "at most 5 % guessed wrong")
    }

    /// Replies written separately and never used for tuning: the honest estimate. Details such
    /// as an unsaid "resolved" may differ; what the worker then does must match the label.
    @Test func theHeldOutRepliesLeadToTheRightDecision() throws {
        let rows = try Self.corpus("callback-replies-holdout.tsv")
        #expect(rows.count >= 100)
        let score = ReplyScore(rows)
        print("held out: \(score.report)")
        #expect(score.decisionAccuracy >= 0.9, "\(score.report)")
    }
}
