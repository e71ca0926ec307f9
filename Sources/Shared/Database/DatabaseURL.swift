import Foundation
public import PostgresNIO
import NIOSSL

/// A parsed `DATABASE_URL` (libpq URI form):
/// `postgres://user:password@host:port/database?sslmode=disable&application_name=x`.
/// A unix socket is given as `?host=/path/to/socket/dir` (or a percent-encoded path as host),
/// as libpq does.
public struct DatabaseURL: Sendable, Equatable {
    public enum TLSMode: String, Sendable, Equatable {
        case disable, prefer, require
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var unixSocketDirectory: String?
    public var username: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    public var applicationName: String?

    /// Parses `text`, reporting problems against `variable` (the setting it came from).
    public init(_ text: String, variable: String = "DATABASE_URL") throws {
        func bad(_ message: String) -> ConfigurationError {
            ConfigurationError(variable: variable, message: message)
        }
        guard let components = URLComponents(string: text) else {
            throw bad("not a URL; expected postgres://user:password@host:port/database")
        }
        guard let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme.lowercased()) else {
            throw bad("scheme must be postgres:// or postgresql://")
        }
        var socketDirectory: String?
        var tls: TLSMode = .prefer
        var applicationName: String?
        var hostParameter: String?
        var portParameter: String?
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "sslmode":
                switch value {
                case "disable": tls = .disable
                case "allow", "prefer": tls = .prefer
                case "require", "verify-ca": tls = .require
                case "verify-full": tls = .verifyFull
                default: throw bad("sslmode '\(value)' is not one of disable, allow, prefer, require, verify-ca, verify-full")
                }
            case "host": hostParameter = value
            case "port": portParameter = value
            case "application_name": applicationName = value
            case "connect_timeout", "options": break
            default: throw bad("unsupported parameter '\(item.name)'")
            }
        }
        var host = components.percentEncodedHost.flatMap { $0.removingPercentEncoding } ?? ""
        if let hostParameter { host = hostParameter }
        if host.hasPrefix("/") {
            socketDirectory = host
            host = "localhost"
        }
        if host.isEmpty { host = "localhost" }
        var port = 5432
        if let explicit = components.port {
            port = explicit
        } else if let portParameter {
            guard let parsed = Int(portParameter) else { throw bad("port '\(portParameter)' is not a number") }
            port = parsed
        }
        guard (1...65535).contains(port) else { throw bad("port \(port) is out of range 1...65535") }
        let user = components.percentEncodedUser?.removingPercentEncoding ?? ""
        let database = String(components.percentEncodedPath.dropFirst()).removingPercentEncoding ?? ""
        guard !user.isEmpty else { throw bad("no user name (postgres://USER@host/database)") }
        guard !database.isEmpty, !database.contains("/") else { throw bad("no database name (postgres://user@host/DATABASE)") }

        self.host = host
        self.port = port
        self.unixSocketDirectory = socketDirectory
        self.username = user
        self.password = components.percentEncodedPassword?.removingPercentEncoding
        self.database = database
        self.tls = tls
        self.applicationName = applicationName
    }

    /// The same server with another database (tests create one per suite).
    public func with(database: String) -> DatabaseURL {
        var copy = self
        copy.database = database
        return copy
    }

    /// A URL string without the password, safe to log.
    public var redacted: String {
        let place = unixSocketDirectory.map { "[\($0)]" } ?? "\(host)"
        return "postgres://\(username)\(password == nil ? "" : ":***")@\(place):\(port)/\(database)"
    }

    /// The URL as text (with the password), for handing to child processes.
    public var urlString: String {
        var components = URLComponents()
        components.scheme = "postgres"
        components.user = username
        components.password = password
        components.host = unixSocketDirectory == nil ? host : "localhost"
        components.port = port
        components.path = "/" + database
        var items: [URLQueryItem] = [URLQueryItem(name: "sslmode", value: tls.rawValue)]
        if let unixSocketDirectory { items.append(URLQueryItem(name: "host", value: unixSocketDirectory)) }
        if let applicationName { items.append(URLQueryItem(name: "application_name", value: applicationName)) }
        components.queryItems = items
        return components.string ?? redacted
    }

    /// A PostgresNIO client configuration for this URL.
    public func clientConfiguration(applicationName override: String? = nil, maximumConnections: Int = 20) -> PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        if let unixSocketDirectory {
            configuration = .init(unixSocketPath: "\(unixSocketDirectory)/.s.PGSQL.\(port)",
                                  username: username, password: password, database: database)
        } else {
            configuration = .init(host: host, port: port, username: username, password: password,
                                  database: database, tls: clientTLS)
        }
        if let name = override ?? applicationName {
            configuration.options.additionalStartupParameters = [("application_name", name)]
        }
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }

    /// A single-connection configuration (admin work, tests).
    public func connectionConfiguration() throws -> PostgresConnection.Configuration {
        if let unixSocketDirectory {
            return .init(unixSocketPath: "\(unixSocketDirectory)/.s.PGSQL.\(port)",
                         username: username, password: password, database: database)
        }
        return .init(host: host, port: port, username: username, password: password,
                     database: database, tls: try connectionTLS)
    }

    private var clientTLS: PostgresClient.Configuration.TLS {
        switch tls {
        case .disable: return .disable
        case .prefer: return .prefer(Self.unverifiedTLS)
        case .require: return .require(Self.unverifiedTLS)
        case .verifyFull: return .require(.makeClientConfiguration())
        }
    }

    private var connectionTLS: PostgresConnection.Configuration.TLS {
        get throws {
        switch tls {
        case .disable: return .disable
        case .prefer: return try .prefer(.init(configuration: Self.unverifiedTLS))
        case .require: return try .require(.init(configuration: Self.unverifiedTLS))
        case .verifyFull: return try .require(.init(configuration: .makeClientConfiguration()))
        }
        }
    }

    /// libpq's `require` encrypts without checking the certificate; so do we.
    private static var unverifiedTLS: TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        return configuration
    }
}
