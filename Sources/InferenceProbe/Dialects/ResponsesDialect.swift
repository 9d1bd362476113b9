/// The OpenAI Responses API: `POST {base}/responses`, one `response` JSON or an SSE stream of typed events
/// (`response.output_text.delta`, ..., `response.completed`; no `[DONE]`). Its WebSocket mode
/// (`{base}/responses`) takes `{"type": "response.create", ...}` and sends the same events as messages;
/// one connection serves many responses, one at a time.
public struct ResponsesDialect: APIDialect {
    public static let name = "responses"
    public static let provider = "openai"
    public static let transports = ["http", "http_sse", "websocket"]

    private struct Request: Encodable {
        var type: String?
        var model: String
        var input: String
        var max_output_tokens: Int
        var stream: Bool?
    }

    private struct Response: Decodable {
        struct Item: Decodable {
            struct Content: Decodable {
                var type: String?
                var text: String?
            }
            var content: [Content]?
        }
        typealias Usage = DialectJSON.TokenUsage
        struct Incomplete: Decodable { var reason: String? }
        var status: String?
        var output: [Item]?
        var usage: Usage?
        var error: DialectJSON.APIError?
        var incomplete_details: Incomplete?

        var text: String {
            (output ?? []).flatMap { $0.content ?? [] }.map { $0.text ?? "" }.joined()
        }
    }

    private struct Event: Decodable {
        var type: String?
        var delta: String?
        var response: Response?
        var message: String?
        var code: String?
        var status: Int?
        var error: DialectJSON.APIError?
    }

    private let target: TargetConfig

    public init(target: TargetConfig) {
        self.target = target
    }

    public func httpRoute() -> String { "responses" }

    public func httpBody(streaming: Bool, prompt: String) -> [UInt8] {
        DialectJSON.encode(Request(
            model: target.model, input: prompt, max_output_tokens: target.maxTokens, stream: streaming ? true : nil))
    }

    public var websocketRoute: String { target.websocketPath ?? "responses" }

    public func websocketRequest(prompt: String) -> [[UInt8]] {
        [DialectJSON.encode(Request(
            type: "response.create", model: target.model, input: prompt, max_output_tokens: target.maxTokens))]
    }

    /// OpenAI closes WebSocket-mode connections after 60 minutes.
    public var websocketSessionLimit: Duration? { .seconds(55 * 60) }

    public func readBody(_ json: [UInt8]) throws(ProbeFailure) -> StreamEvent {
        let response = try DialectJSON.decode(Response.self, json)
        if let status = response.status, status == "failed" || status == "incomplete" {
            throw Self.failure(response, status: status)
        }
        return StreamEvent(text: response.text, inputTokens: response.usage?.input_tokens,
                           outputTokens: response.usage?.output_tokens, ends: true)
    }

    public func readEvent(_ data: [UInt8]) throws(ProbeFailure) -> StreamEvent {
        // Text deltas and bookkeeping events are read without `JSONDecoder`; the end and errors in full.
        switch DialectJSON.typedEvent(data) {
        case ("response.output_text.delta", let delta)?:
            if let text = DialectJSON.text(delta) { return StreamEvent(text: text) }
        case ("response.completed", _)?, ("response.failed", _)?, ("response.incomplete", _)?, ("error", _)?, nil:
            break
        case _?:
            return .ignored
        }
        let event = try DialectJSON.decode(Event.self, data)
        switch event.type {
        case "response.output_text.delta":
            return StreamEvent(text: event.delta ?? "")
        case "response.completed":
            let usage = event.response?.usage
            return StreamEvent(inputTokens: usage?.input_tokens, outputTokens: usage?.output_tokens, ends: true)
        case "response.failed":
            throw Self.failure(event.response ?? Response(), status: "failed")
        case "response.incomplete":
            throw Self.failure(event.response ?? Response(), status: "incomplete")
        case "error":
            throw (event.error ?? DialectJSON.APIError(message: event.message, type: nil, code: event.code))
                .failure("error event", status: event.status)
        default:
            return .ignored
        }
    }

    /// The failure of a response that ended `failed` or `incomplete`, with the API's reason.
    private static func failure(_ response: Response, status: String) -> ProbeFailure {
        guard status == "incomplete" else {
            return response.error?.failure("response failed") ?? ProbeFailure(.serverError, "response failed")
        }
        return ProbeFailure(.protocolError, "response incomplete: \(response.incomplete_details?.reason ?? "no reason given")")
    }
}
