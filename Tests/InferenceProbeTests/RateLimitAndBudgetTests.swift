import Foundation
import InferenceProbe
import Testing

/// The gate that keeps a target from being probed while its provider asks us to wait, or its budget is spent.
@Suite("Rate limits and budgets")
struct RateLimitAndBudgetTests {
    let t0 = ContinuousClock.now
    let noon = Date(timeIntervalSince1970: 1_800_000_000 - 1_800_000_000.truncatingRemainder(dividingBy: 86_400) + 43_200)

    func target(interval: Duration = .seconds(1), maxBackoff: Duration = .seconds(600), budget: Double? = nil) -> TargetConfig {
        var target = loopbackTarget(port: 1, interval: interval)
        target.settings.maxBackoff = maxBackoff
        if let budget {
            target.pricing = Pricing(inputPerMillion: 1, outputPerMillion: 1)
            target.dailyBudget = budget
        }
        return target
    }

    func result(_ outcome: ProbeOutcome, retryAfter: Duration? = nil, cost: Double? = nil) -> ProbeResult {
        var result = ProbeResult(key: SeriesKey(target: "sim", model: "m", transport: "http"),
                                 timeline: ProbeTimeline(started: t0), streamed: false)
        result.outcome = outcome
        result.rateLimit = retryAfter.map { RateLimitStatus(retryAfter: $0) }
        result.cost = cost
        return result
    }

    /// `Retry-After: 7`: nothing for 7 s (+ at most 10% jitter), then one probe; the rest skip until it
    /// comes back, and a success opens the gate again.
    @Test func retryAfterPausesTheTargetThenLetsOneProbeTry() {
        let gate = TargetGate(target: target())
        #expect(gate.admit(now: t0, date: noon) == .probe)
        _ = gate.finished(result(.rateLimited, retryAfter: .seconds(7)), now: t0, date: noon)
        let remaining = gate.status(now: t0, date: noon).backoffRemaining
        #expect(remaining >= 7 && remaining <= 7.7, "\(remaining)")
        #expect(gate.admit(now: t0 + .milliseconds(6_900), date: noon) == .skip(.rateLimited))
        #expect(gate.admit(now: t0 + .seconds(8), date: noon) == .probe, "the pause is over: one probe tries")
        #expect(gate.admit(now: t0 + .seconds(8), date: noon) == .skip(.rateLimited), "the others wait for it")
        _ = gate.finished(result(.success), now: t0 + .seconds(8), date: noon)
        #expect(gate.admit(now: t0 + .seconds(8), date: noon) == .probe)
        #expect(gate.status(now: t0 + .seconds(8), date: noon).backoffRemaining == 0)
    }

    /// The requests and tokens left are those the latest answer that reported each of them said; an answer
    /// without them keeps the last figures (they are `inference_probe_rate_limit_remaining`).
    @Test func remainingRateLimitsAreTheLatestReported() {
        let gate = TargetGate(target: target())
        #expect(gate.status(now: t0, date: noon).remainingRequests == nil)
        var answer = result(.success)
        answer.rateLimit = RateLimitStatus(remainingRequests: 99, remainingTokens: 5_000)
        _ = gate.finished(answer, now: t0, date: noon)
        answer.rateLimit = RateLimitStatus(remainingRequests: 98)
        _ = gate.finished(answer, now: t0, date: noon)
        _ = gate.finished(result(.success), now: t0, date: noon)
        let status = gate.status(now: t0, date: noon)
        #expect(status.remainingRequests == 98)
        #expect(status.remainingTokens == 5_000)
    }

    /// A probe sent before the rate limit, coming back later with a success, does not end the pause.
    @Test func anEarlierSuccessDoesNotEndThePause() {
        let gate = TargetGate(target: target())
        _ = gate.finished(result(.rateLimited, retryAfter: .seconds(5)), now: t0, date: noon)
        _ = gate.finished(result(.success), now: t0 + .milliseconds(100), date: noon)
        #expect(gate.admit(now: t0 + .seconds(1), date: noon) == .skip(.rateLimited))
    }

    /// Without a Retry-After the pause doubles per consecutive rate limit from the interval, with jitter
    /// (half fixed, half random), up to `max_backoff`.
    @Test func exponentialBackoffWithoutRetryAfter() {
        let gate = TargetGate(target: target(interval: .seconds(2), maxBackoff: .seconds(10)))
        var now = t0
        for (n, ceiling) in [2.0, 4, 8, 10, 10].enumerated() {
            let changes = gate.finished(result(.rateLimited), now: now, date: noon)
            guard case .pausedForRateLimit(let pause)? = changes.first else {
                Issue.record("rate limit \(n + 1) paused nothing")
                return
            }
            #expect(pause.seconds >= ceiling / 2 && pause.seconds <= ceiling, "rate limit \(n + 1): \(pause)")
            now += pause
            #expect(gate.admit(now: now, date: noon) == .probe)
        }
    }

    /// The day's spend adds up; reaching the budget pauses the target until midnight UTC.
    @Test func dailyBudgetPausesUntilMidnightUTC() {
        let gate = TargetGate(target: target(budget: 0.001))
        #expect(gate.finished(result(.success, cost: 0.0006), now: t0, date: noon).isEmpty)
        #expect(gate.admit(now: t0, date: noon) == .probe)
        #expect(gate.finished(result(.success, cost: 0.0006), now: t0, date: noon) == [.budgetExhausted(spent: 0.0012)])
        #expect(gate.admit(now: t0, date: noon) == .skip(.budget))
        let status = gate.status(now: t0, date: noon)
        #expect(status.budgetExhausted && abs(status.spentToday - 0.0012) < 1e-12)
        let nextDay = noon.addingTimeInterval(12 * 3600 + 1)
        #expect(gate.admit(now: t0, date: nextDay) == .probe, "a new UTC day lifts the pause")
        #expect(gate.status(now: t0, date: nextDay).spentToday == 0)
    }

    /// The rate-limit headers providers send, as a 429 from a raw server carries them.
    @Test(arguments: [(String, Double)]([
        ("Retry-After: 7", 7.0),
        ("retry-after-ms: 1500", 1.5),
        ("x-ratelimit-remaining-requests: 0\nx-ratelimit-reset-requests: 6m0s\nx-ratelimit-reset-tokens: 1s", 360.0),
        ("x-ratelimit-remaining-tokens: 0\nx-ratelimit-reset-tokens: 1.5s\nx-ratelimit-reset-requests: 20ms", 1.5),
        ("x-ratelimit-reset-requests: 20ms\nx-ratelimit-reset-tokens: 2s", 2.0),
        ("x-ratelimit-reset-requests: 1h2m3s", 3723.0),
        ("x-ratelimit-reset-tokens: 1500\u{B5}s", 0.002),  // 1.5 ms, rounded up to whole milliseconds
        ("Retry-After: " + httpDate(secondsFromNow: 30), 30.0),
    ]))
    func retryAfterIsRead(header: String, seconds: Double) async throws {
        let head = "HTTP/1.1 429 Too Many Requests\n\(header)\nContent-Length: 0"
        let server = try await RawTCPServer(reply: Array((head.replacingOccurrences(of: "\n", with: "\r\n") + "\r\n\r\n").utf8))
        let result = try await makeProber("http", loopbackTarget(port: server.port)).probe()
        await server.stop()
        #expect(result.outcome == .rateLimited)
        let retryAfter = try #require(result.rateLimit?.retryAfter, "\(header)")
        #expect(abs(retryAfter.seconds - seconds) <= (header.contains("GMT") ? 2 : 0.001), "\(header): \(retryAfter)")
    }

    /// Prompts are sent in turn, and with `nonce` each carries a fresh tag.
    @Test func promptsRotateAndCarryANonce() async throws {
        let ok = #"{"choices":[{"message":{"content":"1"}}]}"#
        let server = try await RawTCPServer(
            reply: Array("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(ok.utf8.count)\r\n\r\n\(ok)".utf8),
            recordRequests: true)
        var target = loopbackTarget(port: server.port)
        target.settings.prompts = ["first prompt", "second prompt"]
        target.settings.nonce = true
        let prober = try await makeProber("http", target)
        for _ in 0..<3 { _ = await prober.probe() }
        await server.stop()
        let prompts = server.received.matches(of: #/"content":"(\[probe ([0-9a-f]{8})\] (\w+) prompt)"/#)
        #expect(prompts.map { String($0.output.3) } == ["first", "second", "first"], "\(server.received)")
        #expect(Set(prompts.map { String($0.output.2) }).count == 3, "every probe has its own nonce")
    }
}

/// An HTTP date `seconds` from now (RFC 9110 IMF-fixdate).
func httpDate(secondsFromNow seconds: Double) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "GMT")
    formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
    return formatter.string(from: Date().addingTimeInterval(seconds))
}
