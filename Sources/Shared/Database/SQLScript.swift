/// Splits a SQL script into single statements, because PostgresNIO's extended protocol runs
/// one statement per query. Understands what psql understands in our migration files:
/// '…' strings (with '' escapes), E'…' strings (with backslash escapes), "…" identifiers,
/// dollar-quoted bodies ($$…$$, $tag$…$tag$), -- line comments and nested /* */ comments.
public enum SQLScript {
    public struct UnterminatedError: Error, CustomStringConvertible, Sendable, Equatable {
        public let what: String
        public let line: Int
        public var description: String { "unterminated \(what) starting on line \(line)" }
    }

    /// The statements of `script`, trimmed, without empty ones. Comments stay inside statements.
    public static func statements(_ script: String) throws -> [String] {
        let chars = Array(script.unicodeScalars)
        var statements: [String] = []
        var current = String.UnicodeScalarView()
        var index = 0
        var line = 1

        func flush() {
            let text = String(current).trimmingWhitespace()
            if !text.isEmpty && !isOnlyComments(text) { statements.append(text) }
            current = String.UnicodeScalarView()
        }
        func peek(_ offset: Int) -> Unicode.Scalar? {
            index + offset < chars.count ? chars[index + offset] : nil
        }
        func take() {
            if chars[index] == "\n" { line += 1 }
            current.append(chars[index])
            index += 1
        }

        while index < chars.count {
            let c = chars[index]
            switch c {
            case ";":
                index += 1
                flush()
            case "-" where peek(1) == "-":
                while index < chars.count && chars[index] != "\n" { take() }
            case "/" where peek(1) == "*":
                let start = line
                var depth = 0
                repeat {
                    if chars[index] == "/" && peek(1) == "*" { depth += 1; take(); take(); continue }
                    if chars[index] == "*" && peek(1) == "/" { depth -= 1; take(); take(); continue }
                    take()
                } while depth > 0 && index < chars.count
                if depth > 0 { throw UnterminatedError(what: "/* comment", line: start) }
            case "'":
                let start = line
                let backslashEscapes = index > 0 && (chars[index - 1] == "E" || chars[index - 1] == "e")
                    && (index < 2 || !isIdentifierChar(chars[index - 2]))
                take()
                var closed = false
                while index < chars.count {
                    if backslashEscapes && chars[index] == "\\" && peek(1) != nil { take(); take(); continue }
                    if chars[index] == "'" {
                        if peek(1) == "'" { take(); take(); continue }
                        take(); closed = true; break
                    }
                    take()
                }
                if !closed { throw UnterminatedError(what: "string", line: start) }
            case "\"":
                let start = line
                take()
                var closed = false
                while index < chars.count {
                    if chars[index] == "\"" {
                        if peek(1) == "\"" { take(); take(); continue }
                        take(); closed = true; break
                    }
                    take()
                }
                if !closed { throw UnterminatedError(what: "quoted identifier", line: start) }
            case "$":
                // $tag$ opens a dollar quote unless the $ is part of an identifier or a $1 parameter.
                if let tag = dollarTag(at: index, in: chars), index == 0 || !isIdentifierChar(chars[index - 1]) {
                    let start = line
                    for _ in 0..<tag.count { take() }
                    var closed = false
                    while index < chars.count {
                        if chars[index] == "$", matches(tag, at: index, in: chars) {
                            for _ in 0..<tag.count { take() }
                            closed = true
                            break
                        }
                        take()
                    }
                    if !closed { throw UnterminatedError(what: "dollar-quoted string \(String(String.UnicodeScalarView(tag)))", line: start) }
                } else {
                    take()
                }
            default:
                take()
            }
        }
        flush()
        return statements
    }

    private static func dollarTag(at start: Int, in chars: [Unicode.Scalar]) -> [Unicode.Scalar]? {
        var end = start + 1
        while end < chars.count, chars[end] != "$" {
            let c = chars[end]
            guard isIdentifierChar(c), !(end == start + 1 && ("0"..."9").contains(c)) else { return nil }
            end += 1
        }
        guard end < chars.count else { return nil }
        return Array(chars[start...end])
    }

    private static func matches(_ tag: [Unicode.Scalar], at index: Int, in chars: [Unicode.Scalar]) -> Bool {
        guard index + tag.count <= chars.count else { return false }
        for offset in 0..<tag.count where chars[index + offset] != tag[offset] { return false }
        return true
    }

    private static func isIdentifierChar(_ c: Unicode.Scalar) -> Bool {
        c == "_" || ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c.value > 127
    }

    private static func isOnlyComments(_ text: String) -> Bool {
        text.split(separator: "\n").allSatisfy { line in
            let trimmed = line.trimmingPrefix(while: { $0 == " " || $0 == "\t" })
            return trimmed.isEmpty || trimmed.hasPrefix("--")
        }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
