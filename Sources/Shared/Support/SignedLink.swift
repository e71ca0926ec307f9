import Crypto
public import Foundation

/// The "click to handle" link in a handler's SMS: the ticket and unit, an expiry, and an
/// HMAC-SHA256 tag (first 16 bytes, base64url) over the three, keyed by a secret only the fleet
/// and the handling app know. `verify` rejects a changed ticket, unit or expiry, a wrong key,
/// and an expired link.
public struct SignedLink: Sendable {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case malformed(String)
        case tampered
        case expired(Date)

        public var description: String {
            switch self {
            case .malformed(let what): "malformed link: \(what)"
            case .tampered: "the link's signature does not match (changed, or signed with another key)"
            case .expired(let at): "the link expired at \(at.formatted(.iso8601))"
            }
        }
    }

    public let base: String
    /// The key's bytes (SymmetricKey itself is not Sendable); a key is made per signature.
    private let secret: Data

    /// `secret` must be at least 16 bytes; `base` is the handling app's address.
    public init(base: String, secret: String) throws {
        guard secret.utf8.count >= 16 else { throw ConfigurationError(variable: "HOTLINE_LINK_SECRET", message: "must be at least 16 characters") }
        guard let url = URL(string: base), url.scheme == "https" || url.scheme == "http", url.host != nil else {
            throw ConfigurationError(variable: "HOTLINE_LINK_BASE", message: "'\(base)' is not an http(s) address")
        }
        self.base = base
        self.secret = Data(secret.utf8)
    }

    public func make(ticketNo: String, unit: String, expires: Date) -> String {
        let expiry = String(Int64(expires.timeIntervalSince1970))
        var components = URLComponents(string: base)!
        components.queryItems = (components.queryItems ?? []) + [
            URLQueryItem(name: "t", value: ticketNo), URLQueryItem(name: "u", value: unit),
            URLQueryItem(name: "e", value: expiry), URLQueryItem(name: "s", value: tag(ticketNo, unit, expiry)),
        ]
        return components.string!
    }

    /// The ticket and unit a valid link names, at `now`.
    public func verify(_ link: String, now: Date = Date()) throws -> (ticketNo: String, unit: String) {
        guard let components = URLComponents(string: link), let items = components.queryItems else { throw Failure.malformed("no query") }
        func value(_ name: String) throws -> String {
            let found = items.filter { $0.name == name }
            guard found.count == 1, let value = found[0].value, !value.isEmpty else { throw Failure.malformed("\(name) missing or repeated") }
            return value
        }
        let ticket = try value("t"), unit = try value("u"), expiry = try value("e"), signature = try value("s")
        guard let seconds = Int64(expiry) else { throw Failure.malformed("expiry is not a number") }
        let expected = Data(tag(ticket, unit, expiry).utf8)
        // Constant time: compare every byte whatever the first difference.
        let given = Data(signature.utf8)
        guard given.count == expected.count, zip(given, expected).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 else { throw Failure.tampered }
        let expires = Date(timeIntervalSince1970: TimeInterval(seconds))
        guard now < expires else { throw Failure.expired(expires) }
        return (ticket, unit)
    }

    private func tag(_ ticket: String, _ unit: String, _ expiry: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(ticket)\n\(unit)\n\(expiry)".utf8), using: SymmetricKey(data: secret))
        return Data(mac).prefix(16).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
