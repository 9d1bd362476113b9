/// The OpenAI Responses API: `POST {base}/responses`, one `response` JSON or an SSE stream of typed events
/// (`response.output_text.delta`, ..., `response.completed`; no `[DONE]`). Its WebSocket mode
/// (`{base}/responses`) takes `{"type": "response.create", ...}` and sends the same events as messages;
/// one connection serves many responses, one at a time.
public struct ResponsesDialect: APIDialect {
    public static let name = "responses"
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
        struct Usage: Decodable { var output_tokens: Int? }
        struct Incomplete: Decodable { var reason: String? }
        var status: String?
        var output: [Item]?
        var usage: Usage?
        var error: DialectJSON.APIError?
        var incomplete_details: Incomplete?

        var hasText: Bool {
            output?.contains { $0.content?.contains { !($0.text ?? "").isEmpty } ?? false } ?? false
        }
    }

    private struct Event: Decodable {
        var type: String?
        var delta: String?
        var response: Response?
        var message: String?
        var code: String?
        var error: DialectJSON.APIError?
    }

    private let target: TargetConfig

    public init(target: TargetConfig) {
        self.target = target
    }

    public func httpRequest(streaming: Bool) -> (route: String, body: [UInt8]) {
        ("responses", DialectJSON.encode(Request(
            model: target.model, input: target.prompt, max_output_tokens: target.maxTokens, stream: streaming ? true : nil)))
    }

    public var websocketRoute: String { target.websocketPath ?? "responses" }

    public func websocketRequest() -> [[UInt8]] {
        [DialectJSON.encode(Request(
            type: "response.create", model: target.model, input: target.prompt, max_output_tokens: target.maxTokens))]
    }

    /// OpenAI closes WebSocket-mode connections after 60 minutes.
    public var websocketSessionLimit: Duration? { .seconds(55 * 60) }

    public func readBody(_ json: [UInt8]) throws(ProbeFailure) -> StreamEvent {
        let response = try DialectJSON.decode(Response.self, json)
        try Self.check(response)
        return StreamEvent(hasText: response.hasText, outputTokens: response.usage?.output_tokens, ends: true)
    }

    public func readEvent(_ data: [UInt8]) throws(ProbeFailure) -> StreamEvent {
        let event = try DialectJSON.decode(Event.self, data)
        switch event.type {
        case "response.output_text.delta":
            return StreamEvent(hasText: !(event.delta ?? "").isEmpty)
        case "response.completed":
            return StreamEvent(outputTokens: event.response?.usage?.output_tokens, ends: true)
        case "response.failed", "response.incomplete":
            try Self.check(event.response ?? Response(status: event.type))
            throw ProbeFailure(.httpError, "\(event.type ?? "")")
        case "error":
            throw (event.error ?? DialectJSON.APIError(message: event.message, type: nil, code: event.code))
                .failure("error event")
        default:
            return .ignored
        }
    }

    /// A failed or incomplete response is a failure, with the API's reason.
    private static func check(_ response: Response) throws(ProbeFailure) {
        switch response.status {
        case "failed":
            throw (response.error ?? DialectJSON.APIError(message: nil, type: nil, code: nil)).failure("response failed")
        case "incomplete":
            throw ProbeFailure(.protocolError, "response incomplete: \(response.incomplete_details?.reason ?? "no reason given")")
        case "response.failed":
            throw ProbeFailure(.httpError, "response failed")
        case "response.incomplete":
            throw ProbeFailure(.protocolError, "response incomplete")
        default:
            return
        }
    }
}
