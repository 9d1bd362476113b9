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
            return complete(chat)
        }
        router.ws("v1/stream") { request, _ in
            try authorize(request, allowQueryKey: true)
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, _ in
            for try await message in inbound.messages(maxSize: 4 << 20) {
                try await answer(message, on: outbound)
            }
        }
        router.post("v1/responses") { request, _ in
            try authorize(request)
            let body = try await request.body.collect(upTo: 4 << 20)
            guard let parsed = try? JSONDecoder().decode(ResponsesRequest.self, from: Data(body.readableBytesView)) else {
                return jsonResponse(.badRequest, ChatWire.error(
                    "could not parse the request body as a Responses API request", type: "invalid_request_error"))
            }
            return respond(parsed)
        }
        router.ws("v1/responses") { request, _ in
            try authorize(request, allowQueryKey: true)
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, _ in
            for try await message in inbound.messages(maxSize: 4 << 20) {
                try await answerResponseCreate(message, on: outbound)
            }
        }
        router.ws("v1/realtime") { request, _ in
            try authorize(request, allowQueryKey: true)
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
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
            return answerMessages(parsed)
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

    private func complete(_ chat: ChatRequest) -> Response {
        let received = ContinuousClock.now
        let transport: SimulatedTransport = chat.stream == true ? .httpSSE : .http
        let script = scripter.script(for: transport, maxTokens: chat.maxTokens)
        if let fault = script.fault {
            return jsonResponse(fault == .rateLimited ? .tooManyRequests : .internalServerError, faultBody(fault))
        }
        let id = ids.next()
        guard transport == .httpSSE else {
            return delayedJSON(after: script.generationTime, ChatWire.completion(id: id, request: chat, script: script))
        }
        let chunks = ChatWire.chunks(id: id, request: chat, script: script)
        return eventStream(chunks.map { ($0.delay, "data: \($0.json)\n\n") } + [(.zero, "data: [DONE]\n\n")], from: received)
    }

    /// Answers one WebSocket message: chunk messages then `[DONE]`, or an error message.
    private func answer(_ message: WebSocketMessage, on outbound: WebSocketOutboundWriter) async throws {
        let received = ContinuousClock.now
        guard case .text(let text) = message,
              let chat = try? JSONDecoder().decode(ChatRequest.self, from: Data(text.utf8)) else {
            try await outbound.write(.text(ChatWire.error(
                "expected a chat-completions request as a text message", type: "invalid_request_error")))
            return
        }
        let script = scripter.script(for: .websocket, maxTokens: chat.maxTokens)
        if let fault = script.fault {
            try await outbound.write(.text(faultBody(fault)))
        } else {
            try await outbound.write(messages: ChatWire.chunks(id: ids.next(), request: chat, script: script), from: received)
        }
        try await outbound.write(.text("[DONE]"))
    }

    /// A Responses API request over HTTP: the whole response as JSON, or its events as SSE.
    private func respond(_ request: ResponsesRequest) -> Response {
        let received = ContinuousClock.now
        let transport: SimulatedTransport = request.stream == true ? .httpSSE : .http
        let script = scripter.script(for: transport, maxTokens: request.max_output_tokens)
        if let fault = script.fault {
            return jsonResponse(fault == .rateLimited ? .tooManyRequests : .internalServerError, faultBody(fault))
        }
        let id = "resp_" + ids.next()
        guard transport == .httpSSE else {
            return delayedJSON(after: script.generationTime, ResponsesWire.completed(id: id, request: request, script: script))
        }
        return namedEventStream(ResponsesWire.events(id: id, request: request, script: script), from: received)
    }

    /// One `response.create` message in WebSocket mode: the same events as the SSE stream, as messages.
    private func answerResponseCreate(_ message: WebSocketMessage, on outbound: WebSocketOutboundWriter) async throws {
        let received = ContinuousClock.now
        guard case .text(let text) = message,
              let request = try? JSONDecoder().decode(ResponsesRequest.self, from: Data(text.utf8)),
              request.type == "response.create" else {
            try await outbound.write(.text(ResponsesWire.webSocketError(
                status: 400, type: "invalid_request_error", code: "invalid_event", message: "expected a response.create event")))
            return
        }
        let script = scripter.script(for: .websocket, maxTokens: request.max_output_tokens)
        switch script.fault {
        case .rateLimited:
            try await outbound.write(.text(ResponsesWire.webSocketError(
                status: 429, type: "rate_limit_error", code: "rate_limit_exceeded", message: "simulated rate limit")))
        case .serverError:
            try await outbound.write(.text(ResponsesWire.webSocketError(
                status: 500, type: "server_error", code: "server_error", message: "simulated server error")))
        case nil:
            let events = ResponsesWire.events(id: "resp_" + ids.next(), request: request, script: script)
            try await outbound.write(messages: events.map { ($0.delay, $0.json) }, from: received)
        }
    }

    /// An Anthropic Messages request: one `message` JSON, or its events as SSE.
    private func answerMessages(_ request: AnthropicRequest) -> Response {
        let received = ContinuousClock.now
        let transport: SimulatedTransport = request.stream == true ? .httpSSE : .http
        let script = scripter.script(for: transport, maxTokens: request.max_tokens)
        switch script.fault {
        case .rateLimited:
            return jsonResponse(.tooManyRequests, AnthropicWire.error(type: "rate_limit_error", message: "simulated rate limit"))
        case .serverError:
            return jsonResponse(.init(code: 529), AnthropicWire.error(type: "overloaded_error", message: "simulated overload"))
        case nil:
            break
        }
        let id = "msg_" + ids.next()
        guard transport == .httpSSE else {
            return delayedJSON(after: script.generationTime, AnthropicWire.message(id: id, request: request, script: script))
        }
        return namedEventStream(AnthropicWire.events(id: id, request: request, script: script), from: received)
    }

    /// A JSON body sent after `delay` (the whole generation time of a non-streaming answer).
    private func delayedJSON(after delay: Duration, _ json: String) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody { writer in
            try await Task.sleep(for: delay)
            try await writer.write(ByteBuffer(string: json))
            try await writer.finish(nil)
        })
    }

    /// A `text/event-stream` of pre-framed events, each after its delay (counted from `start`, when the
    /// request was received); the body ends after the last.
    private func eventStream(_ events: [(delay: Duration, text: String)], from start: ContinuousClock.Instant) -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                var schedule = EmissionSchedule(start: start)
                for (delay, text) in events {
                    try await schedule.wait(delay)
                    try await writer.write(ByteBuffer(string: text))
                }
                try await writer.finish(nil)
            })
    }

    /// Events with an `event:` line each (Responses, Anthropic), as a `text/event-stream`.
    private func namedEventStream(_ events: [(delay: Duration, name: String, json: String)],
                                  from start: ContinuousClock.Instant) -> Response {
        eventStream(events.map { ($0.delay, "event: \($0.name)\ndata: \($0.json)\n\n") }, from: start)
    }

    func nextID() -> String { ids.next() }

    private func faultBody(_ fault: CompletionScript.Fault) -> String {
        switch fault {
        case .rateLimited: ChatWire.error("simulated rate limit", type: "rate_limit_error", code: "rate_limit_exceeded")
        case .serverError: ChatWire.error("simulated server error", type: "server_error")
        }
    }

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

    /// Checks the bearer key (for WebSocket upgrades also the `api_key` query item; for Anthropic also
    /// `x-api-key`) when one is set.
    private func authorize(_ request: Request, allowQueryKey: Bool = false, anthropic: Bool = false) throws {
        guard let key = settings.apiKey else { return }
        if request.headers[.authorization] == "Bearer \(key)" { return }
        if allowQueryKey, request.uri.queryParameters.get("api_key") == key { return }
        if anthropic, let name = HTTPField.Name("x-api-key"), request.headers[name] == key { return }
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

extension WebSocketOutboundWriter {
    /// Writes text messages, each after its delay counted from `start` (a streamed answer over WebSocket).
    func write(messages: [(delay: Duration, json: String)], from start: ContinuousClock.Instant) async throws {
        var schedule = EmissionSchedule(start: start)
        for (delay, json) in messages {
            try await schedule.wait(delay)
            try await write(.text(json))
        }
    }
}

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
