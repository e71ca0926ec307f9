import PostgresNIO

/// A database failure in our own terms, so callers can decide whether to retry. PostgresNIO's
/// own errors hide their details in `description`; this keeps SQLSTATE, message and detail.
public struct DatabaseError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Sendable { case unavailable, serialization, uniqueViolation, constraint, invalidInput, timeout, other }
        fileprivate let base: Base
        /// The server cannot be reached (connection lost, refused, pool circuit breaker open).
        public static var unavailable: Code { Code(base: .unavailable) }
        /// Serialization failure or deadlock: retrying the transaction may succeed.
        public static var serialization: Code { Code(base: .serialization) }
        public static var uniqueViolation: Code { Code(base: .uniqueViolation) }
        /// Another integrity constraint (check, foreign key, not null).
        public static var constraint: Code { Code(base: .constraint) }
        /// The server rejected the input (bad value, raised by a function with SQLSTATE 22xxx or P0001).
        public static var invalidInput: Code { Code(base: .invalidInput) }
        /// A statement or lock timeout, or a cancelled query.
        public static var timeout: Code { Code(base: .timeout) }
        public static var other: Code { Code(base: .other) }
        public var description: String { base.rawValue }
    }

    public let code: Code
    /// The five-character SQLSTATE when the server sent one.
    public let sqlState: String?
    public let message: String
    public let detail: String?
    public let hint: String?
    /// The original error, for logs.
    public let underlying: String

    public var description: String {
        var text = "database error [\(code)\(sqlState.map { " \($0)" } ?? "")]: \(message)"
        if let detail { text += " (detail: \(detail))" }
        if let hint { text += " (hint: \(hint))" }
        return text
    }

    /// Wraps anything thrown by PostgresNIO (including `PostgresTransactionError` and the pool's
    /// `ConnectionPoolError`, which is not a `PSQLError`).
    public init(_ error: any Error) {
        if let wrapped = error as? DatabaseError {
            self = wrapped
            return
        }
        if let transaction = error as? PostgresTransactionError {
            let inner: (any Error)? = transaction.closureError ?? transaction.commitError ?? transaction.beginError ?? transaction.rollbackError
            if let inner {
                self.init(inner)
                return
            }
        }
        let underlying = String(reflecting: error)
        if let psql = error as? PSQLError {
            let state = psql.serverInfo?[.sqlState]
            self.init(code: Self.classify(sqlState: state, psqlCode: psql.code), sqlState: state,
                      message: psql.serverInfo?[.message] ?? Self.describe(psql.code),
                      detail: psql.serverInfo?[.detail], hint: psql.serverInfo?[.hint], underlying: underlying)
        } else {
            let text = String(describing: error)
            // The pool's circuit breaker and connection errors live outside PSQLError.
            let unavailable = text.contains("ConnectionPool") || text.contains("connection")
            self.init(code: unavailable ? .unavailable : .other, sqlState: nil, message: text,
                      detail: nil, hint: nil, underlying: underlying)
        }
    }

    private init(code: Code, sqlState: String?, message: String, detail: String?, hint: String?, underlying: String) {
        self.code = code
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.hint = hint
        self.underlying = underlying
    }

    public init(code: Code, message: String) {
        self.code = code
        self.sqlState = nil
        self.message = message
        self.detail = nil
        self.hint = nil
        self.underlying = message
    }

    /// True when the same work may succeed on a later try.
    public var isTransient: Bool {
        code == .unavailable || code == .serialization || code == .timeout
    }

    private static func classify(sqlState: String?, psqlCode: PSQLError.Code) -> Code {
        if let state = sqlState {
            switch state {
            case "40001", "40P01": return .serialization
            case "23505": return .uniqueViolation
            case "57014", "55P03", "25P03": return .timeout
            case "57P01", "57P02", "57P03", "53300": return .unavailable
            case "P0001": return .invalidInput
            default:
                if state.hasPrefix("23") { return .constraint }
                if state.hasPrefix("22") { return .invalidInput }
                if state.hasPrefix("08") { return .unavailable }
                return .other
            }
        }
        switch psqlCode {
        case .serverClosedConnection, .connectionError, .poolClosed, .uncleanShutdown: return .unavailable
        case .queryCancelled: return .timeout
        default: return .other
        }
    }

    private static func describe(_ code: PSQLError.Code) -> String {
        switch code {
        case .serverClosedConnection: return "the server closed the connection"
        case .connectionError: return "could not connect to the server"
        case .poolClosed: return "the connection pool is closed"
        case .queryCancelled: return "the query was cancelled"
        default: return "PostgreSQL client error (\(code))"
        }
    }
}
