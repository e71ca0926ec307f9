public import Foundation

/// Reads typed settings from environment variables. Every bad value is a `ConfigurationError`
/// naming the variable; nothing is silently replaced by a default.
public struct EnvironmentReader: Sendable {
    public let values: [String: String]

    public init(_ values: [String: String] = ProcessInfo.processInfo.environment) {
        self.values = values
    }

    /// The trimmed value, or nil when unset or empty.
    public func string(_ name: String) -> String? {
        guard let raw = values[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !raw.isEmpty else {
            return nil
        }
        return raw
    }

    /// A secret: the value of `name`, or the contents of the file that `name_FILE` names (the
    /// Docker and Kubernetes secrets convention), trimmed. Setting both, or naming a file that
    /// cannot be read or is empty, is an error; so the secret never has to sit in the
    /// environment of a process listing.
    public func secret(_ name: String) throws -> String? {
        let fileVariable = name + "_FILE"
        guard let path = string(fileVariable) else { return string(name) }
        guard string(name) == nil else {
            throw ConfigurationError(variable: name, message: "set either \(name) or \(fileVariable), not both")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(variable: fileVariable, message: "cannot read \(path)")
        }
        guard let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
            throw ConfigurationError(variable: fileVariable, message: "\(path) is empty or not UTF-8 text")
        }
        return text
    }

    public func int(_ name: String, default fallback: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let raw = string(name) else { return fallback }
        guard let value = Int(raw) else {
            throw ConfigurationError(variable: name, message: "'\(raw)' is not a whole number (expected \(range.lowerBound)...\(range.upperBound))")
        }
        guard range.contains(value) else {
            throw ConfigurationError(variable: name, message: "\(value) is out of range (expected \(range.lowerBound)...\(range.upperBound))")
        }
        return value
    }

    /// Seconds as a decimal number ("2", "0.25").
    /// Like `seconds`, but `off` (any case) turns the thing off: nil.
    public func secondsOrOff(_ name: String, default fallback: Double, in range: ClosedRange<Double>) throws -> Duration? {
        if string(name)?.lowercased() == "off" { return nil }
        return try seconds(name, default: fallback, in: range)
    }

    public func seconds(_ name: String, default fallback: Double, in range: ClosedRange<Double>) throws -> Duration {
        guard let raw = string(name) else { return .seconds(fallback) }
        guard let value = Double(raw), value.isFinite else {
            throw ConfigurationError(variable: name, message: "'\(raw)' is not a number of seconds (expected \(range.lowerBound)...\(range.upperBound))")
        }
        guard range.contains(value) else {
            throw ConfigurationError(variable: name, message: "\(value) seconds is out of range (expected \(range.lowerBound)...\(range.upperBound))")
        }
        return .seconds(value)
    }

    public func bool(_ name: String, default fallback: Bool) throws -> Bool {
        guard let raw = string(name) else { return fallback }
        switch raw.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default:
            throw ConfigurationError(variable: name, message: "'\(raw)' is not a boolean (expected true/false, 1/0, yes/no, on/off)")
        }
    }

    public func choice<T>(_ name: String, default fallback: T, _ options: [String: T]) throws -> T {
        guard let raw = string(name) else { return fallback }
        guard let value = options[raw.lowercased()] else {
            throw ConfigurationError(variable: name, message: "'\(raw)' is not one of \(options.keys.sorted().joined(separator: ", "))")
        }
        return value
    }
}
