/// A configuration value that cannot be used. The process stops at start with this message,
/// which names the variable, so ops can fix it without reading code.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The environment variable (or option) at fault.
    public let variable: String
    /// What is wrong and what is accepted.
    public let message: String

    public init(variable: String, message: String) {
        self.variable = variable
        self.message = message
    }

    public var description: String { "configuration error: \(variable): \(message)" }
}
