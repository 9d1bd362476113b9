import Hummingbird
import HummingbirdWebSocket
import InferenceProbe
import InferenceSimulator
import Testing

/// Each transport against the real simulator on loopback, with known injected delays.
@Suite("Transports against the simulator")
struct TransportProbeTests {
    static let ttft = Duration.milliseconds(150)
    static let interToken = Duration.milliseconds(10)
    static let tokens = 10

    /// Every API over every transport it has: TTFT at or above the injected delay, exact token counts.
    @Test(arguments: everyPair)
    func measuresInjectedLatencyAndCountsTokens(pair: String) async throws {
        let (api, transport) = split(pair)
        let settings = fixedSettings(ttft: Self.ttft, interToken: Self.interToken, tokens: Self.tokens, apiKey: "sk-pair")
        let result = try await withSimulator(settings) { port in
            try await makeProber(transport, loopbackTarget(port: port, api: api, apiKey: "sk-pair")).probe()
        }
        #expect(result.outcome == .success, "\(result.detail ?? "")")
        #expect(result.key.transport == transport && result.key.api == api)
        #expect(result.outputTokens == Self.tokens)
        #expect(result.reportedOutputTokens == Self.tokens)
        let m = ProbeMeasurement(result)
        let injectedTotal = (Self.ttft + Self.interToken * (Self.tokens - 1)).seconds
        let duration = try #require(m.duration)
        #expect(duration >= injectedTotal, "the response cannot end before the injected delays have passed")
        #expect(duration < injectedTotal + 1.5)
        #expect(try #require(m.timeToFirstByte) <= duration)
        #expect(try #require(m.connectionSetup) < 1.0)
        if transport == "http" {
            #expect(result.contentChunks == 1)
            #expect(m.timeToFirstToken == nil && m.interTokenLatencies.isEmpty)
        } else {
            #expect(result.contentChunks == Self.tokens)
            let ttft = try #require(m.timeToFirstToken)
            #expect(ttft >= Self.ttft.seconds, "TTFT is measured from before the request left")
            #expect(ttft < Self.ttft.seconds + 1.0)
            #expect(m.interTokenLatencies.count == Self.tokens - 1)
            #expect(m.interTokenLatencies.allSatisfy { $0 >= 0 })
            let streaming = m.interTokenLatencies.reduce(0, +)
            #expect(ttft + streaming <= duration + 1e-9, "token times lie within the response")
            #expect(try #require(m.outputTokensPerSecond) > 0)
        }
    }

    /// Tokens are stamped as each chunk arrives, not when the response ends. The gaps are large (150 ms)
    /// so that a busy machine cannot squeeze them together; the bound is generous.
    @Test(arguments: ["http_sse", "websocket"])
    func tokenTimestampsFollowTheStream(transport: String) async throws {
        let settings = fixedSettings(ttft: .milliseconds(50), interToken: .milliseconds(150), tokens: 4)
        let result = try await withSimulator(settings) { port in
            try await makeProber(transport, loopbackTarget(port: port)).probe()
        }
        #expect(result.outcome == .success, "\(result.detail ?? "")")
        let tokens = result.timeline.tokens
        try #require(tokens.count == 4)
        let spread = tokens[3].seconds(since: tokens[0])
        #expect(spread >= 0.45 * 0.5, "first to last token: \(spread) s for 450 ms injected")
        let tail = try #require(result.timeline.ended).seconds(since: tokens[3])
        #expect(tail >= 0 && tail < 0.45 * 0.5, "the end follows the last token closely: \(tail) s")
    }

    @Test func webSocketConnectionIsKeptAndReused() async throws {
        let settings = fixedSettings(ttft: .milliseconds(20), interToken: .milliseconds(2), tokens: 5)
        let (first, second) = try await withSimulator(settings) { port in
            let prober = try await makeProber("websocket", loopbackTarget(port: port))
            let first = await prober.probe()
            let second = await prober.probe()
            await prober.shutdown()
            return (first, second)
        }
        #expect(first.outcome == .success && second.outcome == .success)
        #expect(!first.connectionReused && first.timeline.upgraded != nil)
        #expect(ProbeMeasurement(first).connectionPhases.map(\.name) == ["dns", "connect", "websocket_upgrade"])
        #expect(second.connectionReused && second.timeline.connected == nil)
        #expect(ProbeMeasurement(second).connectionSetup == nil)
        #expect(second.outputTokens == 5)
    }

    @Test func webSocketReconnectsAfterTheServerClosedTheConnection() async throws {
        // A server that answers one request per connection, then closes it.
        let (first, second) = try await withRunningApplication(logger: quietLogger, { onListening in
            let router = Router(context: BasicWebSocketRequestContext.self)
            router.ws("v1/stream") { inbound, outbound, _ in
                for try await _ in inbound.messages(maxSize: 1 << 20) {
                    try await outbound.write(.text(#"{"choices":[{"delta":{"content":"1"}}]}"#))
                    try await outbound.write(.text("[DONE]"))
                    return
                }
            }
            return Application(
                router: router, server: .http1WebSocketUpgrade(webSocketRouter: router),
                configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { await onListening($0.localAddress!.port!) }, logger: quietLogger)
        }) { port in
            let prober = try await makeProber("websocket", loopbackTarget(port: port))
            let first = await prober.probe()
            try await Task.sleep(for: .milliseconds(300))  // the close reaches the prober
            let second = await prober.probe()
            await prober.shutdown()
            return (first, second)
        }
        #expect(first.outcome == .success && !first.connectionReused)
        #expect(second.outcome == .success, "\(second.detail ?? "")")
        #expect(!second.connectionReused, "a closed connection is replaced, not reused")
        #expect(first.reconnectReason == nil && second.reconnectReason == .serverClose, "\(String(describing: second.reconnectReason))")
    }

    @Test(arguments: TransportCatalog.names)
    func apiKeyIsSentAndAWrongOneIsAnAuthError(transport: String) async throws {
        let settings = fixedSettings(ttft: .milliseconds(5), interToken: .milliseconds(1), tokens: 3, apiKey: "sk-right-key")
        let (good, bad) = try await withSimulator(settings) { port in
            let good = try await makeProber(transport, loopbackTarget(port: port, apiKey: "sk-right-key")).probe()
            let bad = try await makeProber(transport, loopbackTarget(port: port, apiKey: "sk-wrong-key")).probe()
            return (good, bad)
        }
        #expect(good.outcome == .success, "\(good.detail ?? "")")
        #expect(bad.outcome == .authError, "\(bad.detail ?? "")")
        // The HTTP routes say 401; over WebSocket the simulator accepts the upgrade and sends an in-band
        // `invalid_api_key` error (Hummingbird would answer any refused upgrade with a bare 400).
        #expect(bad.httpStatus == (transport == "websocket" ? nil : 401))
        #expect(!(bad.detail ?? "").contains("sk-wrong-key"))
    }

    @Test(arguments: TransportCatalog.names)
    func simulatedRateLimitsAndServerErrors(transport: String) async throws {
        var limited = fixedSettings(ttft: .milliseconds(5), interToken: .milliseconds(1), tokens: 3)
        limited.defaultProfile.rateLimitRate = 1
        var failing = limited
        failing.defaultProfile.rateLimitRate = 0
        failing.defaultProfile.errorRate = 1
        let rateLimited = try await withSimulator(limited) { port in
            try await makeProber(transport, loopbackTarget(port: port)).probe()
        }
        let serverError = try await withSimulator(failing) { port in
            try await makeProber(transport, loopbackTarget(port: port)).probe()
        }
        #expect(rateLimited.outcome == .rateLimited, "\(rateLimited.detail ?? "")")
        #expect(serverError.outcome == .serverError, "\(serverError.detail ?? "")")
        if transport != "websocket" {
            #expect(rateLimited.httpStatus == 429 && serverError.httpStatus == 500)
        }
    }

    @Test func maxTokensCapsTheSimulatedAnswer() async throws {
        let settings = fixedSettings(ttft: .milliseconds(5), interToken: .milliseconds(1), tokens: 50)
        let result = try await withSimulator(settings) { port in
            var target = loopbackTarget(port: port)
            target.settings.maxTokens = 7
            return try await makeProber("http_sse", target).probe()
        }
        #expect(result.outputTokens == 7 && result.contentChunks == 7)
    }
}
