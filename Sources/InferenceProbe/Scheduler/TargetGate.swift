import Foundation
import Synchronization

/// Why a scheduled probe was not sent: the `reason` label of `inference_probe_probes_skipped_total`.
public enum SkipReason: String, Sendable, CaseIterable {
    /// The target is backing off after a rate limit.
    case rateLimited = "rate_limited"
    /// The target's daily budget is spent.
    case budget
}

/// Whether a target may be probed now, shared by all its transports so that a rate limit seen on one
/// pauses them all.
///
/// - After a rate limit it pauses for what the provider asked (`Retry-After`, the reset of an exhausted
///   limit), else for an exponential backoff (the interval doubled per consecutive rate limit, capped by
///   `max_backoff`), plus jitter. When the pause ends, one probe tries again; the others skip until it
///   comes back without a rate limit, so a target that keeps answering 429 gets one probe per pause.
/// - With a daily budget, the probes' cost is added up per UTC day; once spent, the target is paused
///   until midnight UTC.
public final class TargetGate: Sendable {
    public enum Admission: Sendable, Equatable {
        case probe
        case skip(SkipReason)
    }

    /// Something worth a log line.
    public enum Change: Sendable, Equatable {
        case pausedForRateLimit(Duration)
        case budgetExhausted(spent: Double)
    }

    /// What the metrics show of the gate.
    public struct Status: Sendable {
        /// `target`, `model` and `api`, rendered for the text exposition (once per gate, not at every scrape).
        var exposedLabels: [UInt8]
        public var backoffRemaining: Double
        public var spentToday: Double
        public var budgetExhausted: Bool
        /// The target has pricing (so its spend is known) and a daily budget.
        public var priced: Bool
        public var hasBudget: Bool
        /// Requests and tokens left, as the provider's latest answer that said so reported them.
        public var remainingRequests: Int?
        public var remainingTokens: Int?
    }

    private struct Settings {
        var interval: Duration
        var maxBackoff: Duration
        var budget: Double?
        var priced: Bool
        /// `target`, `model` and `api`, rendered for the text exposition.
        var exposedLabels: [UInt8]

        init(_ target: TargetConfig) {
            (interval, maxBackoff, budget) = (target.interval, target.settings.maxBackoff, target.dailyBudget)
            priced = target.pricing != nil
            exposedLabels = exposedLabelBytes([("target", target.name), ("model", target.model), ("api", target.api)])
        }
    }

    private struct State {
        var pausedUntil: ContinuousClock.Instant?
        var consecutiveRateLimits = 0
        var trialInFlight = false
        var day = 0
        var spentToday = 0.0
        var budgetExhausted = false
        var remainingRequests: Int?
        var remainingTokens: Int?
    }

    private let settings: Mutex<Settings>
    private let state = Mutex(State())

    public init(target: TargetConfig) {
        self.settings = Mutex(Settings(target))
    }

    /// Takes a reloaded target's settings; the backoff and the day's spend carry over.
    func update(from target: TargetConfig) {
        settings.withLock { $0 = Settings(target) }
    }

    /// Whether the probe due now may go out.
    public func admit(now: ContinuousClock.Instant = .now, date: Date = Date()) -> Admission {
        let budget = settings.withLock { $0.budget }
        return state.withLock { state in
            Self.rollOver(&state, to: date)
            if state.budgetExhausted, budget != nil { return .skip(.budget) }
            guard let until = state.pausedUntil else { return .probe }
            if now < until || state.trialInFlight { return .skip(.rateLimited) }
            state.trialInFlight = true
            return .probe
        }
    }

    /// Takes a finished probe's outcome and cost into account.
    public func finished(_ result: ProbeResult, now: ContinuousClock.Instant = .now, date: Date = Date()) -> [Change] {
        let (interval, maxBackoff, budget) = settings.withLock { ($0.interval, $0.maxBackoff, $0.budget) }
        return state.withLock { state in
            var changes: [Change] = []
            Self.rollOver(&state, to: date)
            if let limits = result.rateLimit {
                state.remainingRequests = limits.remainingRequests ?? state.remainingRequests
                state.remainingTokens = limits.remainingTokens ?? state.remainingTokens
            }
            if result.outcome == .rateLimited {
                state.consecutiveRateLimits += 1
                let pause = Self.pause(asked: result.rateLimit?.retryAfter, consecutive: state.consecutiveRateLimits,
                                       interval: interval, cap: maxBackoff)
                state.pausedUntil = max(state.pausedUntil ?? now, now + pause)
                state.trialInFlight = false
                changes.append(.pausedForRateLimit(pause))
            } else if state.pausedUntil.map({ now >= $0 }) ?? true {
                // A probe sent before the pause began does not end it; only one sent after it does.
                state.pausedUntil = nil
                state.consecutiveRateLimits = 0
                state.trialInFlight = false
            }
            if let cost = result.cost {
                state.spentToday += cost
                if let budget, !state.budgetExhausted, state.spentToday >= budget {
                    state.budgetExhausted = true
                    changes.append(.budgetExhausted(spent: state.spentToday))
                }
            }
            return changes
        }
    }

    public func status(now: ContinuousClock.Instant = .now, date: Date = Date()) -> Status {
        let (exposedLabels, priced, hasBudget) = settings.withLock { ($0.exposedLabels, $0.priced, $0.budget != nil) }
        return state.withLock { state in
            Self.rollOver(&state, to: date)
            let remaining = state.pausedUntil.map { max(0, now.duration(to: $0).seconds) } ?? 0
            return Status(exposedLabels: exposedLabels, backoffRemaining: remaining, spentToday: state.spentToday,
                          budgetExhausted: state.budgetExhausted, priced: priced, hasBudget: hasBudget,
                          remainingRequests: state.remainingRequests, remainingTokens: state.remainingTokens)
        }
    }

    /// How long to pause: what the provider asked plus up to 10% (at least 100 ms) so that many sidecars do
    /// not return together, else `interval x 2^(n-1)` capped, with "equal jitter" (half fixed, half random).
    static func pause(asked: Duration?, consecutive: Int, interval: Duration, cap: Duration) -> Duration {
        if let asked {
            return asked + max(.milliseconds(100), asked * 0.1) * Double.random(in: 0...1)
        }
        let base = max(interval, .seconds(1))
        let doubled = base * Double(1 << min(consecutive - 1, 20))
        let ceiling = min(doubled, cap)
        return ceiling / 2 + (ceiling / 2) * Double.random(in: 0...1)
    }

    /// A new UTC day clears the spend and lifts a budget pause.
    private static func rollOver(_ state: inout State, to date: Date) {
        let day = Int((date.timeIntervalSince1970 / 86_400).rounded(.down))
        guard day != state.day else { return }
        (state.day, state.spentToday, state.budgetExhausted) = (day, 0, false)
    }
}

/// The gates of the configured targets, by name, kept across reloads so that a reload neither ends a
/// backoff nor resets the day's spend.
public final class TargetGates: Sendable {
    private let gates = Mutex<[String: TargetGate]>([:])

    public init() {}

    /// The gate of `target` (created, or updated with its reloaded settings).
    public func gate(for target: TargetConfig) -> TargetGate {
        gates.withLock { gates in
            if let gate = gates[target.name] {
                gate.update(from: target)
                return gate
            }
            let gate = TargetGate(target: target)
            gates[target.name] = gate
            return gate
        }
    }

    /// Every gate.
    func all() -> [TargetGate] {
        gates.withLock { Array($0.values) }
    }

    /// Drops the gates of targets no longer configured.
    func keep(only names: Set<String>) {
        gates.withLock { gates in gates = gates.filter { names.contains($0.key) } }
    }
}
