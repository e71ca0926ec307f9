/// A job's id in `queue.jobs` (and later `queue.finished_jobs`).
public struct JobID: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public let rawValue: Int64
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    public var description: String { String(rawValue) }
    public static func < (lhs: JobID, rhs: JobID) -> Bool { lhs.rawValue < rhs.rawValue }
}
