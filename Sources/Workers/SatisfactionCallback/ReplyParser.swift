import Foundation

/// How satisfied a citizen said they were (the survey's three grades).
enum Satisfaction: String, Sendable, CaseIterable {
    case satisfied
    case basicallySatisfied = "basically_satisfied"
    case unsatisfied
}

/// What a survey reply says: an answer with whatever it makes certain, or unclear (then an
/// operator calls back — the parser never guesses).
enum ReplyReading: Equatable, Sendable {
    case answer(resolved: Bool?, satisfaction: Satisfaction?)
    case unclear(String)
}

/// Reads the replies people really send to the survey SMS ("请回复数字评价：1 满意，2 基本满意，
/// 3 不满意；如问题没有解决，请回复 0"): digits, half- or full-width, alone or wrapped in words;
/// words and phrases (满意, 基本满意, 不满意, 已解决, 没解决 …) with their negations; free text.
/// Phrases are matched longest and most specific first and consumed, so 不满意 never also counts
/// as 满意, and 没有不满意 is satisfied.
struct ReplyParser: Sendable {
    enum Signal: Equatable, Sendable {
        case satisfaction(Satisfaction)
        case resolved(Bool)
        /// Matched only to take the words out of play (e.g. a digit's own label "1 满意").
        case neutral
    }

    /// In matching order: a phrase is consumed before any phrase later in the list can see it.
    static let phrases: [(String, Signal)] = [
        // Double negations and corrections first.
        ("没有不满意", .satisfaction(.satisfied)), ("没什么不满意", .satisfaction(.satisfied)), ("没有什么不满意", .satisfaction(.satisfied)),
        ("不是没解决", .resolved(true)), ("不是没有解决", .resolved(true)),
        // Praise that contains "还不" or "通了" (which elsewhere mean "still not" / "works again").
        ("还不错", .satisfaction(.satisfied)), ("还不赖", .satisfaction(.satisfied)), ("沟通了", .neutral), ("打通了", .neutral),
        // Unsatisfied.
        ("非常不满意", .satisfaction(.unsatisfied)), ("很不满意", .satisfaction(.unsatisfied)), ("十分不满意", .satisfaction(.unsatisfied)),
        ("不太满意", .satisfaction(.unsatisfied)), ("不是很满意", .satisfaction(.unsatisfied)), ("不怎么满意", .satisfaction(.unsatisfied)),
        ("不大满意", .satisfaction(.unsatisfied)), ("不满意", .satisfaction(.unsatisfied)), ("不滿意", .satisfaction(.unsatisfied)),
        ("差评", .satisfaction(.unsatisfied)), ("太差", .satisfaction(.unsatisfied)), ("很差", .satisfaction(.unsatisfied)),
        ("非常差", .satisfaction(.unsatisfied)), ("真差", .satisfaction(.unsatisfied)), ("敷衍", .satisfaction(.unsatisfied)),
        ("糊弄", .satisfaction(.unsatisfied)), ("不负责", .satisfaction(.unsatisfied)),
        // Basically satisfied.
        ("基本满意", .satisfaction(.basicallySatisfied)), ("基本上满意", .satisfaction(.basicallySatisfied)),
        ("基本滿意", .satisfaction(.basicallySatisfied)), ("还算满意", .satisfaction(.basicallySatisfied)),
        ("还行", .satisfaction(.basicallySatisfied)), ("还可以", .satisfaction(.basicallySatisfied)), ("一般般", .satisfaction(.basicallySatisfied)),
        ("一般", .satisfaction(.basicallySatisfied)), ("凑合", .satisfaction(.basicallySatisfied)), ("马马虎虎", .satisfaction(.basicallySatisfied)),
        ("过得去", .satisfaction(.basicallySatisfied)), ("勉强", .satisfaction(.basicallySatisfied)),
        // Satisfied.
        ("非常满意", .satisfaction(.satisfied)), ("很满意", .satisfaction(.satisfied)), ("挺满意", .satisfaction(.satisfied)),
        ("比较满意", .satisfaction(.satisfied)), ("十分满意", .satisfaction(.satisfied)), ("满意", .satisfaction(.satisfied)),
        ("滿意", .satisfaction(.satisfied)), ("点赞", .satisfaction(.satisfied)), ("點讚", .satisfaction(.satisfied)),
        ("好评", .satisfaction(.satisfied)), ("挺好", .satisfaction(.satisfied)), ("很好", .satisfaction(.satisfied)),
        ("非常好", .satisfaction(.satisfied)), ("特别好", .satisfaction(.satisfied)),
        // Not solved (before "solved", whose words they contain).
        ("没有解决", .resolved(false)), ("还没解决", .resolved(false)), ("没解决", .resolved(false)), ("未解决", .resolved(false)),
        ("沒解決", .resolved(false)), ("没能解决", .resolved(false)), ("木有解决", .resolved(false)), ("没得到解决", .resolved(false)),
        ("没有处理", .resolved(false)), ("没处理", .resolved(false)), ("没人处理", .resolved(false)), ("没人来", .resolved(false)),
        ("没人管", .resolved(false)), ("没来人", .resolved(false)), ("没有人来", .resolved(false)), ("老样子", .resolved(false)),
        ("依旧", .resolved(false)), ("依然", .resolved(false)), ("还是没", .resolved(false)), ("还没修", .resolved(false)),
        ("没修好", .resolved(false)), ("没有修好", .resolved(false)), ("没弄好", .resolved(false)), ("没有弄好", .resolved(false)),
        ("没修", .resolved(false)), ("还没", .resolved(false)), ("还是不", .resolved(false)), ("还不", .resolved(false)),
        ("问题还在", .resolved(false)), ("还是一样", .resolved(false)), ("没有任何变化", .resolved(false)),
        ("没变化", .resolved(false)), ("没有变化", .resolved(false)), ("没效果", .resolved(false)), ("没有效果", .resolved(false)),
        ("没解決", .resolved(false)), ("未处理", .resolved(false)),
        // Solved.
        ("已经解决", .resolved(true)), ("已解决", .resolved(true)), ("解决了", .resolved(true)), ("已解決", .resolved(true)),
        ("解決了", .resolved(true)), ("得到解决", .resolved(true)), ("修好了", .resolved(true)), ("已修好", .resolved(true)),
        ("修复了", .resolved(true)), ("已修复", .resolved(true)), ("处理好了", .resolved(true)), ("处理完了", .resolved(true)),
        ("弄好了", .resolved(true)), ("搞好了", .resolved(true)), ("办好了", .resolved(true)), ("恢复了", .resolved(true)),
        ("已恢复", .resolved(true)), ("来水了", .resolved(true)), ("来电了", .resolved(true)), ("通了", .resolved(true)),
        ("清理了", .resolved(true)), ("清走了", .resolved(true)), ("拆了", .resolved(true)), ("发了", .resolved(true)),
        ("到账了", .resolved(true)), ("搞定", .resolved(true)),
    ]

    /// Common input-method slips for the survey's own words.
    static let typos: [(String, String)] = [("瞒意", "满意"), ("蛮意", "满意"), ("满易", "满意"), ("解绝", "解决"), ("节决", "解决")]

    /// Counter words after a number: "10天", "3个月" are quantities, not survey digits.
    static let counters: Set<Character> = ["天", "日", "号", "个", "次", "年", "月", "点", "分", "周", "小", "元", "块", "楼", "栋", "层", "户", "米", "多", "趟", "遍", "岁", "人"]

    func read(_ raw: String) -> ReplyReading {
        // Spaces carry no meaning in Chinese replies ("没 解决"); digits still separate ("1 3" → 13, two digits).
        var text = Self.normalize(raw).filter { !$0.isWhitespace }
        for (typo, word) in Self.typos { text = text.replacingOccurrences(of: typo, with: word) }
        var signals: [Signal] = []
        for (phrase, signal) in Self.phrases where text.contains(phrase) {
            while let range = text.range(of: phrase) {
                signals.append(signal)
                text.replaceSubrange(range, with: "§")
            }
        }
        if Self.saysDone(text) { signals.append(.resolved(true)) }
        let digits = Self.surveyDigits(in: text)

        let wordRatings = Set(signals.compactMap { if case .satisfaction(let s) = $0 { s } else { nil } })
        let wordResolved = Set(signals.compactMap { if case .resolved(let r) = $0 { r } else { nil } })
        // Saying it is not solved outweighs a passing "处理了" ("说是处理了其实根本没人来").
        let resolvedByWords: Bool? = wordResolved.contains(false) ? false : wordResolved.first
        if wordRatings.count > 1 { return .unclear("contradictory ratings: \(wordRatings.map(\.rawValue).sorted().joined(separator: ", "))") }
        let ratingByWords = wordRatings.first

        switch digits.count {
        case 0:
            if ratingByWords == nil && resolvedByWords == nil { return .unclear("no rating, no digit and no word about the result") }
            return .answer(resolved: resolvedByWords, satisfaction: ratingByWords)
        case 1 where digits.first! > 3:
            return .unclear("digit \(digits.first!) is not a survey answer")
        case 1:
            let digit = digits.first!
            let (digitResolved, digitRating): (Bool?, Satisfaction?) = switch digit {
            case 1: (true, .satisfied)
            case 2: (true, .basicallySatisfied)
            case 3: (nil, .unsatisfied)
            default: (false, nil)
            }
            if let ratingByWords, let digitRating, ratingByWords != digitRating {
                return .unclear("digit \(digit) says \(digitRating.rawValue), the words say \(ratingByWords.rawValue)")
            }
            return .answer(resolved: resolvedByWords ?? digitResolved, satisfaction: digitRating ?? ratingByWords)
        default:
            // Two different digits: only the words can settle it.
            if let ratingByWords { return .answer(resolved: resolvedByWords, satisfaction: ratingByWords) }
            return .unclear("several survey digits: \(digits.sorted().map(String.init).joined(separator: " "))")
        }
    }

    /// "已经…了" with no negation between: the matter is done ("暖气已经热了", "工资已经打过来了").
    static func saysDone(_ text: String) -> Bool {
        var rest = text[...]
        while let start = rest.range(of: "已经") {
            let after = rest[start.upperBound...].prefix(8)
            if let end = after.firstIndex(of: "了") {
                let between = after[..<end]
                if !between.contains(where: { "没未不别".contains($0) }) { return true }
            }
            rest = rest[start.upperBound...]
        }
        return false
    }

    /// Full-width digits, letters and spaces to ASCII; a few traditional characters to simplified.
    static func normalize(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0xFF10...0xFF19, 0xFF21...0xFF3A, 0xFF41...0xFF5A:
                out.unicodeScalars.append(Unicode.Scalar(scalar.value - 0xFEE0)!)
            case 0x3000: out.append(" ")
            default:
                switch scalar {
                case "決": out.append("决")
                case "沒": out.append("没")
                case "滿": out.append("满")
                case "處": out.append("处")
                case "還": out.append("还")
                case "說": out.append("说")
                default: out.unicodeScalars.append(scalar)
                }
            }
        }
        return out.lowercased()
    }

    /// The distinct survey digits (0–3) standing alone: not part of a longer number (a ticket
    /// or phone number), not a quantity ("10天"). "12" or "13" written together count as two.
    static func surveyDigits(in text: String) -> Set<Int> {
        var found: Set<Int> = []
        let characters = Array(text)
        var index = 0
        while index < characters.count {
            guard characters[index].isASCII, let first = characters[index].wholeNumberValue else { index += 1; continue }
            var end = index
            var run = [first]
            while end + 1 < characters.count, characters[end + 1].isASCII, let next = characters[end + 1].wholeNumberValue {
                end += 1
                run.append(next)
            }
            let followedByCounter = end + 1 < characters.count && counters.contains(characters[end + 1])
            if !followedByCounter && run.count <= 2 {
                if run.allSatisfy({ (0...3).contains($0) }) {
                    found.formUnion(run)
                } else if run.count == 1 {
                    found.insert(run[0])   // 4–9: not a survey answer; makes the reply unclear below
                }
            }
            index = end + 1
        }
        return found
    }
}
