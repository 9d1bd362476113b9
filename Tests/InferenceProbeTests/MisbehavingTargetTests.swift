import Foundation
import Hummingbird
import HummingbirdWebSocket
import InferenceProbe
import InferenceSimulator
import Testing

/// Targets that refuse, stall, reset or break the protocol must end as classified outcomes, on time.
@Suite("Misbehaving targets")
struct MisbehavingTargetTests {
    func probe(_ transport: String, port: Int, timeout: Duration = .seconds(5)) async throws -> ProbeResult {
        try await makeProber(transport, loopbackTarget(port: port, timeout: timeout)).probe()
    }

    func http(_ head: String, _ body: String) -> [UInt8] {
        Array((head.replacingOccurrences(of: "\n", with: "\r\n") + "\r\n\r\n" + body).utf8)
    }

    @Test(arguments: TransportCatalog.names)
    func refusedConnectionIsAConnectError(transport: String) async throws {
        let result = try await probe(transport, port: try await closedPort())
        #expect(result.outcome == .connectError, "\(result.detail ?? "")")
    }

    @Test(arguments: TransportCatalog.names)
    func stalledTargetTimesOutOnTime(transport: String) async throws {
        let server = try await RawTCPServer(reply: nil)
        defer { Task { await server.stop() } }
        let started = ContinuousClock.now
        let result = try await probe(transport, port: server.port, timeout: .milliseconds(800))
        let elapsed = ContinuousClock.now - started
        // The WebSocket upgrade is part of opening the connection: a server that never answers it is a
        // connect timeout (the probe's 800 ms end comes before connect_timeout's 5 s).
        #expect(result.outcome == (transport == "websocket" ? .connectTimeout : .timeout), "\(result.detail ?? "")")
        #expect(elapsed >= .milliseconds(800))
        #expect(elapsed < .seconds(3), "a probe must not outlive its timeout by much")
        await server.stop()
    }

    /// A canned HTTP answer and the outcome (and reason) it must give.
    struct CannedAnswer: Sendable, CustomTestStringConvertible {
        var name: String
        var transport: String
        var head: String
        var body: String
        var outcome: ProbeOutcome
        var detail: String?
        var testDescription: String { name }
    }

    static let chunk = #"data: {"choices":[{"delta":{"content":"1"}}]}"# + "\n\n"
    static let emptyJSON = #"{"choices":[{"message":{"role":"assistant","content":""}}],"usage":{"completion_tokens":0}}"#
    static let cannedAnswers = [
        CannedAnswer(name: "malformed chunk", transport: "http_sse", head: "HTTP/1.1 200 OK\nContent-Type: text/event-stream",
                     body: chunk + "data: {broken\n\n", outcome: .protocolError, detail: "malformed JSON"),
        CannedAnswer(name: "stream without [DONE]", transport: "http_sse", head: "HTTP/1.1 200 OK\nContent-Type: text/event-stream",
                     body: chunk, outcome: .truncated, detail: "terminal event"),
        CannedAnswer(name: "stream without output or [DONE]", transport: "http_sse", head: "HTTP/1.1 200 OK\nContent-Type: text/event-stream",
                     body: ": keepalive\n\n", outcome: .protocolError, detail: "without output"),
        CannedAnswer(name: "connection cut after a chunk", transport: "http_sse",
                     head: "HTTP/1.1 200 OK\nContent-Type: text/event-stream\nTransfer-Encoding: chunked",
                     body: String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n", outcome: .truncated, detail: "after output began"),
        CannedAnswer(name: "JSON body cut short", transport: "http",
                     head: "HTTP/1.1 200 OK\nContent-Type: application/json\nContent-Length: 500",
                     body: #"{"choices":[{"message":{"content":"1 2"#, outcome: .truncated),
        CannedAnswer(name: "401", transport: "http", head: "HTTP/1.1 401 Unauthorized\nContent-Length: 0", body: "",
                     outcome: .authError, detail: "HTTP 401"),
        CannedAnswer(name: "403 on a stream", transport: "http_sse", head: "HTTP/1.1 403 Forbidden\nContent-Length: 0", body: "",
                     outcome: .authError, detail: "HTTP 403"),
        CannedAnswer(name: "404", transport: "http_sse", head: "HTTP/1.1 404 Not Found\nContent-Length: 0", body: "",
                     outcome: .clientError, detail: "HTTP 404"),
        CannedAnswer(name: "529 overloaded", transport: "http", head: "HTTP/1.1 529 Overloaded\nContent-Length: 0", body: "",
                     outcome: .serverError, detail: "HTTP 529"),
        CannedAnswer(name: "429", transport: "http_sse", head: "HTTP/1.1 429 Too Many Requests\nRetry-After: 7\nContent-Length: 0",
                     body: "", outcome: .rateLimited, detail: "HTTP 429"),
        CannedAnswer(name: "in-band authentication error", transport: "http_sse",
                     head: "HTTP/1.1 200 OK\nContent-Type: text/event-stream",
                     body: #"data: {"error":{"message":"bad key","type":"invalid_request_error","code":"invalid_api_key"}}"# + "\n\n",
                     outcome: .authError, detail: "bad key"),
        CannedAnswer(name: "JSON instead of a stream", transport: "http_sse",
                     head: "HTTP/1.1 200 OK\nContent-Type: application/json\nContent-Length: \(emptyJSON.utf8.count)",
                     body: emptyJSON, outcome: .protocolError, detail: "text/event-stream"),
        CannedAnswer(name: "connection cut inside a chunked body", transport: "http_sse",
                     head: "HTTP/1.1 200 OK\nContent-Type: text/event-stream\nTransfer-Encoding: chunked",
                     body: "40\r\ndata: {\"choi", outcome: .connectionClosed),
        CannedAnswer(name: "answer without text", transport: "http",
                     head: "HTTP/1.1 200 OK\nContent-Type: application/json\nContent-Length: \(emptyJSON.utf8.count)",
                     body: emptyJSON, outcome: .protocolError, detail: "no output text"),
        CannedAnswer(name: "SSE line over 1 MiB", transport: "http_sse", head: "HTTP/1.1 200 OK\nContent-Type: text/event-stream",
                     body: "data: " + String(repeating: "x", count: 2 << 20), outcome: .oversize, detail: "longer than"),
        CannedAnswer(name: "not HTTP at all", transport: "http", head: "SSH-2.0-OpenSSH_9.2", body: "",
                     outcome: .protocolError),
    ]

    @Test(arguments: cannedAnswers)
    func cannedAnswersBecomeClassifiedFailures(_ answer: CannedAnswer) async throws {
        let server = try await RawTCPServer(reply: http(answer.head, answer.body))
        let result = try await probe(answer.transport, port: server.port)
        await server.stop()
        #expect(result.outcome == answer.outcome, "\(result.detail ?? "")")
        if let detail = answer.detail {
            #expect(result.detail?.contains(detail) == true, "\(result.detail ?? "")")
        }
    }

    @Test func serviceUnavailableIsAServerErrorWithItsMessage() async throws {
        let body = #"{"error":{"message":"model overloaded, key sk-right-key-123 ok"}}"#
        let server = try await RawTCPServer(reply: http(
            "HTTP/1.1 503 Service Unavailable\nContent-Type: application/json\nContent-Length: \(body.utf8.count)", body))
        var target = loopbackTarget(port: server.port)
        target.apiKey = Secret("sk-right-key-123")
        let result = try await makeProber("http", target).probe()
        await server.stop()
        #expect(result.outcome == .serverError)
        #expect(result.httpStatus == 503)
        let detail = try #require(result.detail)
        #expect(detail.contains("model overloaded"))
        #expect(!detail.contains("sk-right-key-123") && detail.contains("<redacted>"), "echoed secrets are redacted")
    }

    @Test func hugeWebSocketFrameIsOversize() async throws {
        let result = try await withRunningApplication(logger: quietLogger, { onListening in
            let router = Router(context: BasicWebSocketRequestContext.self)
            router.ws("v1/stream") { inbound, outbound, _ in
                for try await _ in inbound.messages(maxSize: 1 << 20) {
                    try await outbound.write(.text(String(repeating: "x", count: 2 << 20)))
                }
            }
            return Application(
                router: router,
                server: .http1WebSocketUpgrade(webSocketRouter: router, configuration: .init(ws: .init(maxFrameSize: 4 << 20))),
                configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { await onListening($0.localAddress!.port!) }, logger: quietLogger)
        }) { port in
            try await probe("websocket", port: port)
        }
        #expect(result.outcome == .oversize, "\(result.detail ?? "")")
    }

    @Test func refusedWebSocketUpgradeIsAClientError() async throws {
        let server = try await RawTCPServer(reply: http("HTTP/1.1 404 Not Found\nContent-Length: 0", ""))
        let result = try await probe("websocket", port: server.port)
        await server.stop()
        #expect(result.outcome == .clientError, "\(result.detail ?? "")")
        #expect(result.httpStatus == 404)
    }

    @Test func connectionClosedDuringTheUpgradeIsConnectionClosed() async throws {
        let server = try await RawTCPServer(reply: [])  // reads the upgrade request, answers nothing, closes
        let result = try await probe("websocket", port: server.port)
        await server.stop()
        #expect(result.outcome == .connectionClosed, "\(result.detail ?? "")")
        #expect(result.detail?.contains("upgrade") == true, "\(result.detail ?? "")")
    }

    /// The upgrade request is a GET without a body: it must not carry Content-Length (servers on the Python
    /// `websockets` library never answer one that does).
    @Test func upgradeRequestHasNoContentLength() async throws {
        let server = try await RawTCPServer(reply: http("HTTP/1.1 403 Forbidden\nContent-Length: 0", ""), recordRequests: true)
        var target = loopbackTarget(port: server.port)
        target.apiKey = Secret("sk-query-key")
        target.apiKeyPlacement = .query("api_key")
        let result = try await makeProber("websocket", target).probe()
        await server.stop()
        #expect(result.outcome == .authError && result.httpStatus == 403, "\(result.detail ?? "")")
        let request = server.received.lowercased()
        #expect(request.hasPrefix("get /v1/stream?api_key=sk-query-key http/1.1\r\n"), "\(request)")
        #expect(request.contains("upgrade: websocket"))
        #expect(!request.contains("content-length"), "\(request)")
        #expect(!request.contains("authorization"), "the key travels in the query only")
    }
}
