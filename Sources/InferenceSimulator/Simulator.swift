import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import HTTPTypes
import Logging
import NIOCore
import NIOConcurrencyHelpers
import NIOSSL

/// A simulator of the inference APIs the prober speaks, with scripted latency and faults, on one port:
///
/// - `POST /v1/chat/completions`: one `chat.completion` JSON, or with `"stream": true` a
///   `text/event-stream` of `chat.completion.chunk` events ending in `data: [DONE]`;
/// - WebSocket `/v1/stream`: each text message is a chat-completions request, answered by one text
///   message per chunk and a final `[DONE]` message; the connection stays open for the next request;
/// - `POST /v1/responses` (JSON or SSE) and WebSocket `/v1/responses` (`response.create` messages): the
///   OpenAI Responses API and its WebSocket mode;
/// - WebSocket `/v1/realtime?model=M`: the OpenAI Realtime API, text only;
/// - `POST /v1/messages`: Anthropic Messages (JSON or SSE; `x-api-key` or a bearer key);
/// - `GET /v1/models`.
public struct Simulator: Sendable {
    public let settings: SimulatorSettings
    let scripter: CompletionScripter
    private let ids = IDSequence()
    let rateLimits = RateLimitWindow()

    public init(settings: SimulatorSettings) {
        self.settings = settings
        self.scripter = CompletionScripter(settings: settings)
    }

    /// The simulator as a service listening on `host:port` (port 0 picks one, reported to `onListening`).
    /// Throws only when the TLS files of the settings cannot be loaded.
    public func application(
        host: String, port: Int, logger: Logger, onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let router = Router(context: BasicWebSocketRequestContext.self)
        router.get("v1/models") { request, _ in
            try authorize(request)
            return jsonResponse(.ok, listModels())
        }
        router.post("v1/chat/completions") { request, context in
            try authorize(request)
            let body = try await request.body.collect(upTo: 4 << 20)
            guard let chat = try? JSONDecoder().decode(ChatRequest.self, from: Data(body.readableBytesView)) else {
                return jsonResponse(.badRequest, ChatWire.error(
                    "could not parse the request body as a chat-completions request", type: "invalid_request_error"))
            }
            return try await complete(chat)
        }
        router.ws("v1/stream") { inbound, outbound, context in
            guard isAuthorized(context.request, allowQueryKey: true) else {
                return try await refuseInBand(inbound, outbound, with: SimulatedRefusal(.auth, api: .openAI).inBandJSON)
            }
            for try await message in inbound.messages(maxSize: 4 << 20) {
                guard try await continueSession(after: answer(message, on: outbound)) else { return }
            }
        }
        router.post("v1/responses") { request, _ in
            try authorize(request)
            let body = try await request.body.collect(upTo: 4 << 20)
            guard let parsed = try? JSONDecoder().decode(ResponsesRequest.self, from: Data(body.readableBytesView)) else {
                return jsonResponse(.badRequest, ChatWire.error(
                    "could not parse the request body as a Responses API request", type: "invalid_request_error"))
            }
            return try await respond(parsed)
        }
        router.ws("v1/responses") { inbound, outbound, context in
            guard isAuthorized(context.request, allowQueryKey: true) else {
                let refusal = SimulatedRefusal(.auth, api: .openAI)
                return try await refuseInBand(inbound, outbound, with: ResponsesWire.webSocketError(
                    status: refusal.status, type: refusal.type, code: refusal.code, message: refusal.message))
            }
            for try await message in inbound.messages(maxSize: 4 << 20) {
                guard try await continueSession(after: answerResponseCreate(message, on: outbound)) else { return }
            }
        }
        router.ws("v1/realtime") { inbound, outbound, context in
            guard isAuthorized(context.request, allowQueryKey: true) else {
                let refusal = SimulatedRefusal(.auth, api: .openAI)
                return try await refuseInBand(inbound, outbound, with: RealtimeWire.error(
                    event: "event_1", type: refusal.type, code: refusal.code, message: refusal.message),
                    when: { $0.contains("response.create") })
            }
            var session = RealtimeSession(
                simulator: self, model: context.request.uri.queryParameters.get("model") ?? "simulated-model")
            try await session.run(inbound: inbound, outbound: outbound)
        }
        router.post("v1/messages") { request, _ in
            try authorize(request, anthropic: true)
            let body = try await request.body.collect(upTo: 4 << 20)
            guard let parsed = try? JSONDecoder().decode(AnthropicRequest.self, from: Data(body.readableBytesView)) else {
                return jsonResponse(.badRequest, AnthropicWire.error(type: "invalid_request_error", message: "could not parse the request body"))
            }
            return try await answerMessages(parsed)
        }
        var server = HTTPServerBuilder.http1WebSocketUpgrade(webSocketRouter: router)
        if let tls = settings.tls {
            let chain = try NIOSSLCertificate.fromPEMFile(tls.certificateChain).map { NIOSSLCertificateSource.certificate($0) }
            let configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: tls.privateKey, format: .pem)))
            server = try .tls(server, tlsConfiguration: configuration)
        }
        return Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname(host, port: port), serverName: "inference-probe-simulator"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? port) },
            logger: logger
        )
    }

    private func complete(_ chat: ChatRequest) async throws -> Response {
        let received = ContinuousClock.now
        let transport: SimulatedTransport = chat.stream == true ? .httpSSE : .http
        let script = scripter.script(for: transport, maxTokens: chat.maxTokens)
        let id = ids.next()
        return try await answerHTTP(
            script, api: .openAI, streaming: transport == .httpSSE, received: received,
            tokens: chat.promptTokens + script.tokens.count,
            json: { ChatWire.completion(id: id, request: chat, script: script) },
            events: { ChatWire.chunks(id: id, request: chat, script: script) })
    }

    /// Answers one WebSocket message: chunk messages then `[DONE]`, or an error message.
    private func answer(_ message: WebSocketMessage, on outbound: WebSocketOutboundWriter) async throws -> SessionStep {
        let received = ContinuousClock.now
        guard case .text(let text) = message,
              let chat = try? JSONDecoder().decode(ChatRequest.self, from: Data(text.utf8)) else {
            try await outbound.write(.text(ChatWire.error(
                "expected a chat-completions request as a text message", type: "invalid_request_error")))
            return .next
        }
        let script = scripter.script(for: .websocket, maxTokens: chat.maxTokens)
        if let fault = script.fault, fault.isRefusal {
            try await outbound.write(.text(SimulatedRefusal(fault, api: .openAI).inBandJSON))
            try await outbound.write(.text("[DONE]"))
            return .next
        }
        return try await outbound.write(answer: ChatWire.chunks(id: ids.next(), request: chat, script: script),
                                        fault: script.fault, from: received)
    }

    /// A Responses API request over HTTP: the whole response as JSON, or its events as SSE.
    private func respond(_ request: ResponsesRequest) async throws -> Response {
        let received = ContinuousClock.now
        let transport: SimulatedTransport = request.stream == true ? .httpSSE : .http
        let script = scripter.script(for: transport, maxTokens: request.max_output_tokens)
        let id = "resp_" + ids.next()
        return try await answerHTTP(
            script, api: .openAI, streaming: transport == .httpSSE, received: received,
            tokens: ResponsesWire.promptTokens(request) + script.tokens.count,
            json: { ResponsesWire.completed(id: id, request: request, script: script) },
            events: { ResponsesWire.events(id: id, request: request, script: script) })
    }

    /// One `response.create` message in WebSocket mode: the same events as the SSE stream, as messages.
    private func answerResponseCreate(_ message: WebSocketMessage, on outbound: WebSocketOutboundWriter) async throws -> SessionStep {
        let received = ContinuousClock.now
        guard case .text(let text) = message,
              let request = try? JSONDecoder().decode(ResponsesRequest.self, from: Data(text.utf8)),
              request.type == "response.create" else {
            try await outbound.write(.text(ResponsesWire.webSocketError(
                status: 400, type: "invalid_request_error", code: "invalid_event", message: "expected a response.create event")))
            return .next
        }
        let script = scripter.script(for: .websocket, maxTokens: request.max_output_tokens)
        if let fault = script.fault, fault.isRefusal {
            let refusal = SimulatedRefusal(fault, api: .openAI)
            try await outbound.write(.text(ResponsesWire.webSocketError(
                status: refusal.status, type: refusal.type, code: refusal.code, message: refusal.message)))
            return .next
        }
        let events = ResponsesWire.events(id: "resp_" + ids.next(), request: request, script: script)
        return try await outbound.write(answer: events, fault: script.fault, from: received)
    }

    /// An Anthropic Messages request: one `message` JSON, or its events as SSE.
    private func answerMessages(_ request: AnthropicRequest) async throws -> Response {
        let received = ContinuousClock.now
        let transport: SimulatedTransport = request.stream == true ? .httpSSE : .http
        let script = scripter.script(for: transport, maxTokens: request.max_tokens)
        let id = "msg_" + ids.next()
        return try await answerHTTP(
            script, api: .anthropic, streaming: transport == .httpSSE, received: received,
            tokens: request.promptTokens + script.tokens.count,
            json: { AnthropicWire.message(id: id, request: request, script: script) },
            events: { AnthropicWire.events(id: id, request: request, script: script) })
    }

    /// An HTTP answer as the script says: a refusal (error status and body), or after any held-back head
    /// the JSON body or the event stream, spoiled by the script's fault. Every answer carries rate-limit
    /// headers, as providers send them.
    private func answerHTTP(
        _ script: CompletionScript, api: SimulatedAPI, streaming: Bool, received: ContinuousClock.Instant, tokens: Int,
        json: () -> String, events: () -> [WireEvent]
    ) async throws -> Response {
        var headers = rateLimits.headers(spending: tokens)
        if let fault = script.fault, fault.isRefusal {
            let refusal = SimulatedRefusal(fault, api: api)
            for field in refusal.headers { headers[field.name] = field.value }
            headers[.contentType] = "application/json"
            return Response(status: .init(code: refusal.status), headers: headers,
                            body: ResponseBody(byteBuffer: ByteBuffer(string: refusal.bodyJSON)))
        }
        if let delay = script.fault?.headDelay, delay > .zero { try await Task.sleep(for: delay) }
        guard streaming else {
            return delayedJSON(after: script.generationTime, json(), fault: script.fault, headers: headers)
        }
        return eventStream(events(), fault: script.fault, headers: headers, from: received)
    }

    /// A JSON body sent after `delay` (the whole generation time of a non-streaming answer), or what the
    /// fault makes of it: nothing (stall), half of it (truncate, reset), a broken one, an oversized one.
    private func delayedJSON(after delay: Duration, _ json: String, fault: SimulatedFault?, headers: HTTPFields) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            try await Task.sleep(for: delay)
            switch fault {
            case .stall?:
                try await Task.sleep(for: settings.stallLimit)
                throw SimulatedDrop()
            case .truncate?, .reset?:
                try await writer.write(ByteBuffer(string: String(json.prefix(json.count / 2))))
                throw SimulatedDrop()
            case .malformed?:
                try await writer.write(ByteBuffer(string: String(json.prefix(json.count / 2))))
            case .oversize?:
                try await writer.write(ByteBuffer(string: String(repeating: " ", count: SimulatedFault.oversizeBodyBytes)))
                try await writer.write(ByteBuffer(string: json))
            default:
                try await writer.write(ByteBuffer(string: json))
            }
            try await writer.finish(nil)
        })
    }

    /// A `text/event-stream` of an answer's events, each after its delay (counted from `start`, when the
    /// request was received), shaped by the fault; the body ends after the last, unless the fault stalls
    /// or drops it.
    private func eventStream(
        _ events: [WireEvent], fault: SimulatedFault?, headers: HTTPFields, from start: ContinuousClock.Instant
    ) -> Response {
        var headers = headers
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        let (shaped, ending) = fault?.shape(events) ?? (events, .complete)
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            var schedule = EmissionSchedule(start: start)
            for event in shaped {
                try await schedule.wait(event.delay)
                try await writer.write(ByteBuffer(string: event.sseFrame))
            }
            switch ending {
            case .complete, .cut: try await writer.finish(nil)
            case .stall:
                try await Task.sleep(for: settings.stallLimit)
                throw SimulatedDrop()
            case .drop: throw SimulatedDrop()
            }
        })
    }

    func nextID() -> String { ids.next() }

    private func listModels() -> String {
        struct Model: Encodable {
            var id: String
            var object = "model"
            var created = 0
            var owned_by = "inference-probe-simulator"
        }
        struct List: Encodable {
            var object = "list"
            var data: [Model]
        }
        return ChatWire.encode(List(data: settings.models.map { Model(id: $0) }))
    }

    /// `true` when no key is set, or the request carries it: as a bearer key, for WebSocket upgrades also
    /// as the `api_key` query item, for Anthropic also as `x-api-key`.
    private func isAuthorized(_ request: Request, allowQueryKey: Bool = false, anthropic: Bool = false) -> Bool {
        guard let key = settings.apiKey else { return true }
        if request.headers[.authorization] == "Bearer \(key)" { return true }
        if allowQueryKey, request.uri.queryParameters.get("api_key") == key { return true }
        if anthropic, let name = HTTPField.Name("x-api-key"), request.headers[name] == key { return true }
        return false
    }

    /// An unauthorized WebSocket session: the first request (a message `when` accepts) is answered with
    /// the API's authentication error, then the socket is closed. (Hummingbird answers every refused
    /// upgrade with a bare 400, which would not say what went wrong.)
    private func refuseInBand(
        _ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter, with error: String,
        when isRequest: (String) -> Bool = { _ in true }
    ) async throws {
        for try await message in inbound.messages(maxSize: 4 << 20) {
            guard case .text(let text) = message, isRequest(text) else { continue }
            try await outbound.write(.text(error))
            return
        }
    }

    /// Throws the API's 401 unless the request carries the key (see `isAuthorized`).
    private func authorize(_ request: Request, anthropic: Bool = false) throws {
        if isAuthorized(request, anthropic: anthropic) { return }
        if anthropic {
            throw HTTPError(.unauthorized, headers: [.contentType: "application/json"],
                            message: AnthropicWire.error(type: "authentication_error", message: "invalid x-api-key"))
        }
        throw HTTPError(.unauthorized, headers: [.contentType: "application/json"],
                        message: ChatWire.error("invalid or missing API key", type: "invalid_request_error",
                                                code: "invalid_api_key"))
    }

    private func jsonResponse(_ status: HTTPResponse.Status, _ json: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: json)))
    }
}

/// Response ids `chatcmpl-sim-1`, `chatcmpl-sim-2`, ...
private final class IDSequence: Sendable {
    private let counter = NIOLockedValueBox(0)

    func next() -> String {
        "chatcmpl-sim-\(counter.withLockedValue { $0 += 1; return $0 })"
    }
}

/// How a WebSocket session goes on after an answer.
enum SessionStep: Sendable {
    /// Read the next request.
    case next
    /// Close the connection now.
    case close
    /// Stop reading and writing (no pongs either) until the client leaves.
    case silent
}

extension Simulator {
    /// Acts on a session step: `false` when the session is over (its handler returns and the socket closes).
    func continueSession(after step: SessionStep) async throws -> Bool {
        switch step {
        case .next: return true
        case .close: return false
        case .silent:
            try await Task.sleep(for: settings.stallLimit)
            return false
        }
    }
}

extension WebSocketOutboundWriter {
    /// Writes an answer's events as text messages, each after its delay counted from `start` (plus any
    /// held-back head), shaped by the fault; says how the session goes on.
    func write(answer events: [WireEvent], fault: SimulatedFault?, from start: ContinuousClock.Instant) async throws -> SessionStep {
        let (shaped, ending) = fault?.shape(events) ?? (events, .complete)
        var schedule = EmissionSchedule(start: start + (fault?.headDelay ?? .zero))
        for event in shaped {
            try await schedule.wait(event.delay)
            try await write(.text(event.data))
        }
        switch ending {
        case .complete: return fault == .silent ? .silent : .next
        case .stall: return .silent
        case .cut, .drop: return .close
        }
    }
}

/// What a simulated answer throws to drop its connection mid-body.
struct SimulatedDrop: Error {}

/// When each event of a streamed answer is due: the first delay counts from when the request was
/// received, every later one from the previous event's due time, never from when the simulator finished
/// its own work, so building, encoding and writing events does not add to the injected TTFT and gaps (the
/// prober's overhead is measured against them).
struct EmissionSchedule {
    private var due: ContinuousClock.Instant

    init(start: ContinuousClock.Instant) {
        due = start
    }

    mutating func wait(_ delay: Duration) async throws {
        guard delay > .zero else { return }
        due += delay
        try await Task.sleep(until: due, clock: .continuous)
    }
}
