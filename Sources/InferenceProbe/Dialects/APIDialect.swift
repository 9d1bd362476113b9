import Foundation

/// One inference API as it is spoken on the wire: how a probe's request is written and how what comes
/// back (a JSON body, Server-Sent Events or WebSocket messages) becomes output text, a token count, an API
/// error, and the end of a response. Transports move the bytes; a dialect reads them.
///
/// Adding an API means one conforming type, listed in `APICatalog.all`, plus its side in the simulator.
public protocol APIDialect: Sendable {
    /// The API's name in configuration files (`targets[].api`) and in the `api` label.
    static var name: String { get }
    /// The provider in OpenTelemetry's `gen_ai.provider.name` (`openai`, `anthropic`).
    static var provider: String { get }
    /// The transports the API has.
    static var transports: [String] { get }
    /// Where the key goes unless the target says otherwise.
    static var defaultKeyPlacement: APIKeyPlacement { get }

    init(target: TargetConfig)

    /// Route (relative to the base URL) of `http` and `http_sse` requests.
    func httpRoute() -> String
    /// JSON body of an `http` or `http_sse` request asking `prompt`.
    func httpBody(streaming: Bool, prompt: String) -> [UInt8]
    /// Headers the API requires besides the key (e.g. `anthropic-version`).
    var extraHeaders: [(name: String, value: String)] { get }
    /// Route (relative to the base URL, query allowed) of the WebSocket endpoint.
    var websocketRoute: String { get }
    /// Messages sent once on a new WebSocket session, before any probe (e.g. Realtime's `session.update`).
    func websocketOpening() -> [[UInt8]]
    /// Messages that ask for one response to `prompt` on an open WebSocket session.
    func websocketRequest(prompt: String) -> [[UInt8]]
    /// Sessions older than this are closed and reopened before a probe (a server-side session limit).
    var websocketSessionLimit: Duration? { get }

    /// Reads a complete non-streaming JSON answer.
    func readBody(_ json: [UInt8]) throws(ProbeFailure) -> StreamEvent
    /// Reads one streamed event: the `data` of an SSE event or one WebSocket message.
    func readEvent(_ data: [UInt8]) throws(ProbeFailure) -> StreamEvent
}

extension APIDialect {
    public var extraHeaders: [(name: String, value: String)] { [] }
    public func websocketOpening() -> [[UInt8]] { [] }
    public var websocketSessionLimit: Duration? { nil }
    public static var defaultKeyPlacement: APIKeyPlacement { .bearer }
}

/// What one streamed event (or a whole JSON answer) meant for the probe.
public struct StreamEvent: Sendable, Equatable {
    /// The output text the event carried (empty for bookkeeping events).
    public var text: String
    /// Input tokens, when the API reported them.
    public var inputTokens: Int?
    /// Output tokens, when the API reported them.
    public var outputTokens: Int?
    /// The API's terminal event: the response is complete.
    public var ends: Bool
    /// Session bookkeeping not caused by the request (Realtime's `session.created`): it does not count
    /// as the response's first byte.
    public var isSessionEvent: Bool
    /// Rate limits the API reported in-band (Realtime's `rate_limits.updated`).
    public var rateLimit: RateLimitStatus?

    public init(text: String = "", inputTokens: Int? = nil, outputTokens: Int? = nil, ends: Bool = false,
                isSessionEvent: Bool = false, rateLimit: RateLimitStatus? = nil) {
        self.text = text
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.ends = ends
        self.isSessionEvent = isSessionEvent
        self.rateLimit = rateLimit
    }

    /// The event carried output text (a token chunk: it is timestamped).
    public var hasText: Bool { !text.isEmpty }

    static let ignored = StreamEvent()
}

/// The APIs this build speaks, by name.
public enum APICatalog {
    public static let all: [any APIDialect.Type] = [
        ChatCompletionsDialect.self, ResponsesDialect.self, RealtimeDialect.self, AnthropicMessagesDialect.self,
    ]
    public static let defaultName = ChatCompletionsDialect.name

    public static var names: [String] { all.map { $0.name } }

    public static func dialect(named name: String) -> (any APIDialect.Type)? {
        all.first { $0.name == name }
    }

    /// The `gen_ai.provider.name` of an API.
    static func provider(of api: String) -> String {
        dialect(named: api)?.provider ?? api
    }
}

/// JSON helpers shared by the dialects.
enum DialectJSON {
    /// Decodes `T` from `bytes`; malformed JSON is a protocol error.
    static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) throws(ProbeFailure) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw ProbeFailure(.protocolError, "malformed JSON in response (\(bytes.count) bytes)")
        }
    }

    /// `type` and `delta` of a typed streaming event (Responses, Realtime, Anthropic Messages), read without
    /// `JSONDecoder`; nil when the text is not a well-formed object with a string `type`.
    static func typedEvent(_ data: [UInt8]) -> (type: String, delta: JSONSlice?)? {
        guard let fields = JSONSlice.object(data, members: "type", "delta"), let type = fields[0]?.string else { return nil }
        return (type, fields[1])
    }

    /// Output text as a `String?` member decodes it: absent or `null` is ""; nil when it is something else.
    static func text(_ value: JSONSlice?) -> String? {
        guard let value, !value.isNull else { return "" }
        return value.string
    }

    /// A token count as an `Int?` member decodes it: absent or `null` is `.some(nil)`; nil when it is
    /// something else (left to the full decoder).
    static func count(_ value: JSONSlice?) -> Int?? {
        guard let value, !value.isNull else { return .some(nil) }
        return value.int.map { .some($0) }
    }

    /// Encodes a request body; plain strings and numbers cannot fail to encode.
    static func encode(_ value: some Encodable) -> [UInt8] {
        Array((try? JSONEncoder().encode(value)) ?? Data())
    }

    /// `usage` as the Responses, Realtime and Anthropic Messages APIs report it.
    struct TokenUsage: Decodable {
        var input_tokens: Int?
        var output_tokens: Int?
    }

    /// An error object of any of these APIs: `{"error": {"message", "type", "code"}}` (Anthropic puts
    /// `"type": "error"` beside it; the Responses API may send `message` and `code` at the top level, and in
    /// WebSocket mode an HTTP-like `status` beside the error).
    struct APIError: Decodable {
        var message: String?
        var type: String?
        var code: String?

        /// The message on one line. It is not cut here: secrets a server echoed are redacted from the
        /// whole text first (`ProbeResult.record`), and only then is it shortened, so no part of one shows.
        var summary: String {
            (message ?? "unknown").replacingOccurrences(of: "\n", with: " ")
        }

        /// An error sent in place of a response, classified by its type and code (or `status`, when the
        /// API sent one): whose fault it is decides the outcome.
        func failure(_ context: String, status: Int? = nil) -> ProbeFailure {
            ProbeFailure(outcome(status: status), "\(context): \(summary)", status: status)
        }

        func outcome(status: Int?) -> ProbeOutcome {
            let words = [type, code].compactMap { $0?.lowercased() }
            func mentions(_ fragments: String...) -> Bool {
                words.contains { word in fragments.contains { word.contains($0) } }
            }
            if mentions("rate_limit", "insufficient_quota", "quota_exceeded") { return .rateLimited }
            if mentions("authentication", "permission", "invalid_api_key", "unauthorized", "forbidden") { return .authError }
            if let status { return ProbeFailure.outcome(forStatus: status) }
            if mentions("server_error", "api_error", "overloaded", "internal", "unavailable", "timeout") { return .serverError }
            if mentions("invalid_request", "not_found", "bad_request", "invalid") { return .clientError }
            return .serverError  // the API said it failed and did not blame the request
        }

        private enum CodingKeys: String, CodingKey { case message, type, code }

        init(message: String?, type: String?, code: String?) {
            (self.message, self.type, self.code) = (message, type, code)
        }

        /// An error event that carried no error object.
        static let unknown = APIError(message: nil, type: nil, code: nil)

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            message = try? container.decodeIfPresent(String.self, forKey: .message)
            type = try? container.decodeIfPresent(String.self, forKey: .type)
            // `code` is a string in OpenAI's APIs, sometimes a number elsewhere.
            code = (try? container.decodeIfPresent(String.self, forKey: .code))
                ?? (try? container.decodeIfPresent(Int.self, forKey: .code)).flatMap { $0.map(String.init) }
        }
    }

    /// The message of an `{"error": {...}}` body (any dialect), for an HTTP failure's detail.
    static func errorMessage(in bytes: [UInt8]) -> String? {
        struct Body: Decodable { var error: APIError? }
        return (try? JSONDecoder().decode(Body.self, from: Data(bytes)))?.error?.summary
    }
}
