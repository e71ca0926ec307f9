import Foundation

/// JSON text for jsonb parameters: snake_case keys (the SQL side's names), sorted for stable
/// output. One encoder setup for every worker that hands records to SQL functions.
public enum JSONText {
    public static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
