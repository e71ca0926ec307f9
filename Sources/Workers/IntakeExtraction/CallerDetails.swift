/// Caller details found in a complaint's text: phone numbers (mobile and landline, however
/// people write them in transcripts and forms) and resident ID numbers (checksum-validated).
struct CallerDetails: Equatable, Sendable {
    var phones: [String] = []
    var idNumbers: [String] = []

    /// The hotline's own number and other service numbers are not a caller's.
    static let serviceNumbers: Set<String> = ["12345", "110", "119", "120", "122", "12315", "12369"]

    init(phones: [String] = [], idNumbers: [String] = []) {
        self.phones = phones
        self.idNumbers = idNumbers
    }

    /// Scans `text`: digits may be full-width or Chinese numerals in transcripts are left alone
    /// (a caller reading out 一三八… is rare and ambiguous); separators inside a number
    /// (spaces, dashes, dots) are allowed.
    init(scanning text: String) {
        let runs = Self.digitRuns(in: text)
        for run in runs {
            if let id = Self.idNumber(run), !idNumbers.contains(id) {
                idNumbers.append(id)
                continue
            }
            if let phone = Self.phone(run), !phones.contains(phone) {
                phones.append(phone)
            }
        }
    }

    /// Runs of digits (and a trailing X for ID numbers), joined across single separators.
    static func digitRuns(in text: String) -> [String] {
        var runs: [String] = []
        var current = ""
        var pendingSeparator = false
        func flush() {
            if !current.isEmpty { runs.append(current) }
            current = ""
            pendingSeparator = false
        }
        for scalar in text.unicodeScalars {
            var c = scalar
            if (0xFF10...0xFF19).contains(scalar.value) { c = Unicode.Scalar(scalar.value - 0xFF10 + 0x30)! }
            if ("0"..."9").contains(c) {
                current.unicodeScalars.append(c)
                pendingSeparator = false
            } else if (c == "X" || c == "x" || c == "Ｘ") && current.count == 17 {
                current.append("X")
                flush()
            } else if [" ", "-", "－", "—", ".", "\u{3000}"].contains(c) && !current.isEmpty && !pendingSeparator {
                pendingSeparator = true
            } else if (c == "(" || c == "（" || c == ")" || c == "）") && (current.isEmpty || current.count <= 4) {
                // (029)8888-6666: brackets around an area code
                pendingSeparator = !current.isEmpty
            } else {
                flush()
            }
        }
        flush()
        return runs
    }

    static func phone(_ digits: String) -> String? {
        var d = digits
        if d.hasPrefix("0086") { d.removeFirst(4) } else if d.hasPrefix("86") && d.count == 13 { d.removeFirst(2) }
        guard !serviceNumbers.contains(d) else { return nil }
        let chars = Array(d.utf8)
        if chars.count == 11 && chars[0] == UInt8(ascii: "1") && (UInt8(ascii: "3")...UInt8(ascii: "9")).contains(chars[1]) {
            return d
        }
        if chars.first == UInt8(ascii: "0") && (10...12).contains(chars.count) && chars[1] != UInt8(ascii: "0") {
            return d
        }
        return nil
    }

    /// An 18-character resident ID number with a valid ISO 7064 MOD 11-2 check character.
    static func idNumber(_ text: String) -> String? {
        let chars = Array(text)
        guard chars.count == 18, chars[0..<17].allSatisfy(\.isASCII), chars[0..<17].allSatisfy(\.isNumber) else { return nil }
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        let sum = zip(chars[0..<17], weights).reduce(0) { $0 + Int(String($1.0))! * $1.1 }
        let check = Array("10X98765432")[sum % 11]
        guard chars[17] == check else { return nil }
        // The birth date must be a real one.
        let year = Int(String(chars[6..<10]))!, month = Int(String(chars[10..<12]))!, day = Int(String(chars[12..<14]))!
        guard (1900...2100).contains(year), (1...12).contains(month), (1...31).contains(day) else { return nil }
        return String(chars)
    }
}
