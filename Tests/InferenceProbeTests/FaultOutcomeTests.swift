import Foundation
import InferenceProbe
import InferenceSimulator
import Testing

/// Every fault the simulator injects ends as its own outcome, over every transport that can carry it.
/// One at a time: the stage timeouts are short, and parallel simulators in one debug process would
/// squeeze each other's event loops past them.
@Suite("Simulated faults", .serialized)
struct FaultOutcomeTests {
    /// A fault and the outcome it must give per transport (a transport that cannot carry it is left out).
    struct FaultCase: Sendable, CustomTestStringConvertible {
        var fault: SimulatedFault
        var label: String
        var expected: [String: ProbeOutcome]
        var testDescription: String { label }

        init(_ label: String, _ fault: SimulatedFault, _ expected: [String: ProbeOutcome]) {
            (self.label, self.fault, self.expected) = (label, fault, expected)
        }

        init(_ label: String, _ fault: SimulatedFault, everywhere outcome: ProbeOutcome) {
            self.init(label, fault, Dictionary(uniqueKeysWithValues: TransportCatalog.names.map { ($0, outcome) }))
        }
    }

    static let cases: [FaultCase] = [
        FaultCase("auth", .auth, everywhere: .authError),
        FaultCase("rate_limit@7", .rateLimit(retryAfterSeconds: 7), everywhere: .rateLimited),
        FaultCase("server_error", .serverError, everywhere: .serverError),
        FaultCase("stall@2", .stall(afterTokens: 2), ["http": .timeout, "http_sse": .streamStall, "websocket": .streamStall]),
        FaultCase("stall@0", .stall(afterTokens: 0), ["http_sse": .firstTokenTimeout, "websocket": .firstTokenTimeout]),
        FaultCase("truncate@2", .truncate(afterTokens: 2), everywhere: .truncated),
        FaultCase("reset@2", .reset(afterTokens: 2), everywhere: .truncated),
        FaultCase("reset@0", .reset(afterTokens: 0), ["http_sse": .connectionClosed, "websocket": .connectionClosed]),
        FaultCase("slow_headers@1.2s", .slowHeaders(.milliseconds(1200)),
                  ["http": .success, "http_sse": .firstTokenTimeout, "websocket": .firstTokenTimeout]),
        FaultCase("oversize", .oversize, everywhere: .oversize),
        FaultCase("malformed@2", .malformed(afterTokens: 2), everywhere: .protocolError),
    ]

    static let pairs: [(FaultCase, String)] = cases.flatMap { fault in
        fault.expected.keys.sorted().map { (fault, $0) }
    }

    /// A target with stage timeouts short enough for tests: 800 ms to the first token, 500 ms of stall.
    static func target(port: Int, api: String = APICatalog.defaultName) -> TargetConfig {
        var target = loopbackTarget(port: port, api: api, timeout: .seconds(2))
        target.settings.firstTokenTimeout = .milliseconds(800)
        target.settings.stallTimeout = .milliseconds(500)
        return target
    }

    static func settings(_ fault: SimulatedFault, on transport: String) -> SimulatorSettings {
        var settings = fixedSettings(ttft: .milliseconds(20), interToken: .milliseconds(10), tokens: 5)
        settings.stallLimit = .seconds(3)  // the simulator's shutdown waits for stalled answers
        var profile = settings.defaultProfile
        profile.faults = [(fault, 1)]
        settings.profiles[SimulatedTransport(rawValue: transport)!] = profile
        return settings
    }

    @Test(arguments: pairs)
    func faultGivesItsOutcome(_ fault: FaultCase, transport: String) async throws {
        let result = try await withSimulator(Self.settings(fault.fault, on: transport)) { port in
            try await makeProber(transport, Self.target(port: port)).probe()
        }
        let expected = try #require(fault.expected[transport])
        #expect(result.outcome == expected, "\(fault.label) over \(transport): \(result.detail ?? "")")
        if case .rateLimit = fault.fault, transport != "websocket" {
            #expect(result.rateLimit?.retryAfter == .seconds(7) && result.rateLimit?.remainingRequests == 0,
                    "Retry-After and x-ratelimit-* are read: \(String(describing: result.rateLimit))")
        }
    }

    /// Refusals of every API are classified by whose fault they are, over its every transport (in-band
    /// errors over WebSocket).
    @Test(arguments: everyPair)
    func refusalsOfEveryAPI(pair: String) async throws {
        let (api, transport) = split(pair)
        for (fault, expected) in [(SimulatedFault.auth, ProbeOutcome.authError), (.rateLimit(retryAfterSeconds: 1), .rateLimited),
                                  (.serverError, .serverError)] {
            let result = try await withSimulator(Self.settings(fault, on: transport)) { port in
                try await makeProber(transport, Self.target(port: port, api: api)).probe()
            }
            #expect(result.outcome == expected, "\(fault.name) over \(pair): \(result.detail ?? "")")
        }
    }

    /// Healthy answers carry the provider's rate-limit figures (headers, or Realtime's `rate_limits.updated`).
    @Test(arguments: everyPair.filter { !$0.hasPrefix("anthropic") && $0 != "chat_completions/websocket" && $0 != "responses/websocket" })
    func remainingRateLimitsAreRead(pair: String) async throws {
        let (api, transport) = split(pair)
        let result = try await withSimulator(fixedSettings(ttft: .milliseconds(5), interToken: .milliseconds(1), tokens: 3)) { port in
            try await makeProber(transport, Self.target(port: port, api: api)).probe()
        }
        #expect(result.outcome == .success, "\(result.detail ?? "")")
        #expect((result.rateLimit?.remainingRequests ?? 0) > 0 && (result.rateLimit?.remainingTokens ?? 0) > 0,
                "\(String(describing: result.rateLimit))")
    }

    /// A WebSocket whose server stops answering (no pong) is found by the keepalive between probes and
    /// replaced; the next probe succeeds and says why it reconnected.
    @Test func silentWebSocketIsFoundByTheKeepalive() async throws {
        var target = Self.target(port: 0)
        target.settings.websocketPingInterval = .milliseconds(150)
        target.settings.websocketPongTimeout = .milliseconds(150)
        let (first, second) = try await withSimulator(Self.settings(.silent, on: "websocket")) { port in
            target.baseURL.port = port
            let prober = try await makeProber("websocket", target)
            let first = await prober.probe()
            try await Task.sleep(for: .milliseconds(700))  // a ping goes unanswered; the keepalive closes
            let second = await prober.probe()
            await prober.shutdown()
            return (first, second)
        }
        #expect(first.outcome == .success, "\(first.detail ?? "")")
        #expect(second.outcome == .success, "the keepalive found the dead connection, not the probe: \(second.detail ?? "")")
        #expect(!second.connectionReused && second.reconnectReason == .pongTimeout, "\(String(describing: second.reconnectReason))")
    }

    /// Pings of a healthy connection are answered and their round trips reported with the next probe.
    @Test func keepalivePingsAreTimed() async throws {
        var target = Self.target(port: 0)
        target.settings.websocketPingInterval = .milliseconds(100)
        let second = try await withSimulator(fixedSettings(ttft: .milliseconds(5), interToken: .milliseconds(1), tokens: 3)) { port in
            target.baseURL.port = port
            let prober = try await makeProber("websocket", target)
            _ = await prober.probe()
            try await Task.sleep(for: .milliseconds(450))
            let second = await prober.probe()
            await prober.shutdown()
            return second
        }
        #expect(second.outcome == .success && second.connectionReused, "\(second.detail ?? "")")
        #expect(!second.pingRoundTrips.isEmpty && second.pingRoundTrips.allSatisfy { $0 > 0 && $0 < 0.1 },
                "\(second.pingRoundTrips)")
    }

    /// `expect:` turns an answer without the pattern, or with too few tokens, into a content mismatch.
    @Test(arguments: TransportCatalog.names)
    func expectationsAreChecked(transport: String) async throws {
        let results = try await withSimulator(fixedSettings(ttft: .milliseconds(5), interToken: .milliseconds(1), tokens: 5)) { port in
            var outcomes: [ProbeResult] = []
            for expectation in [ResponseExpectation(pattern: #"\b5$"#), ResponseExpectation(pattern: "banana"),
                                ResponseExpectation(minTokens: 6)] {
                var target = Self.target(port: port)
                target.settings.expect = expectation
                outcomes.append(try await makeProber(transport, target).probe())
            }
            return outcomes
        }
        #expect(results[0].outcome == .success, "the answer 1 2 3 4 5 ends in 5: \(results[0].detail ?? "")")
        #expect(results[1].outcome == .contentMismatch && results[1].detail?.contains("banana") == true, "\(results[1].detail ?? "")")
        #expect(results[2].outcome == .contentMismatch && results[2].detail?.contains("at least 6") == true, "\(results[2].detail ?? "")")
    }

    /// With pricing, every successful probe is priced from the usage the API reported.
    @Test(arguments: everyPair)
    func probesArePricedFromUsage(pair: String) async throws {
        let (api, transport) = split(pair)
        let result = try await withSimulator(fixedSettings(ttft: .milliseconds(5), interToken: .milliseconds(1), tokens: 5)) { port in
            var target = Self.target(port: port, api: api)
            target.pricing = Pricing(inputPerMillion: 1_000_000, outputPerMillion: 2_000_000)  // $1 / $2 a token
            return try await makeProber(transport, target).probe()
        }
        #expect(result.outcome == .success, "\(result.detail ?? "")")
        #expect(result.reportedInputTokens != nil, "\(pair) reports input tokens")
        #expect(result.cost == Double(result.inputTokens) + 2 * Double(result.outputTokens), "\(String(describing: result.cost))")
    }
}
