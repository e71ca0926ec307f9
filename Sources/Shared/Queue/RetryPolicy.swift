import Foundation

/// Exponential backoff with jitter: attempt n waits base·factorⁿ⁻¹, capped, then spread by
/// ±jitter so jobs that failed together do not return together.
public struct RetryPolicy: Sendable, Equatable {
    public var base: Duration
    public var factor: Double
    public var cap: Duration
    /// Fraction of the delay to randomise, 0...1.
    public var jitter: Double

    public init(base: Duration = .seconds(1), factor: Double = 2, cap: Duration = .seconds(3600), jitter: Double = 0.25) {
        self.base = base
        self.factor = max(1, factor)
        self.cap = cap
        self.jitter = min(max(jitter, 0), 1)
    }

    /// The delay before retrying after failed attempt `attempt` (1-based), with `unit` a random
    /// number in 0..<1 (injectable for tests).
    public func delay(afterAttempt attempt: Int, unit: Double = Double.random(in: 0..<1)) -> Duration {
        let baseSeconds = base.seconds
        let capSeconds = cap.seconds
        let exponent = Double(max(attempt, 1) - 1)
        let raw = min(capSeconds, baseSeconds * pow(factor, exponent))
        let spread = raw * jitter * (unit * 2 - 1)
        return .seconds(max(0, min(capSeconds, raw + spread)))
    }
}

extension Duration {
    /// This duration in seconds, as a Double.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
