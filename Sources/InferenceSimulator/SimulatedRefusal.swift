import Foundation
import HTTPTypes
import NIOConcurrencyHelpers

/// The families of error bodies the simulated APIs use.
enum SimulatedAPI: Sendable {
    /// Chat completions, Responses, Realtime: `{"error": {"message", "type", "code"}}`.
    case openAI
    /// Anthropic Messages: `{"type": "error", "error": {"type", "message"}}`, overload as 529.
    case anthropic
}

/// An answer refused by a fault (auth, rate limit, server error): its status, error fields and headers,
/// written as each API writes them.
struct SimulatedRefusal {
    var status: Int
    var type: String
    var code: String
    var message: String
    var headers: HTTPFields = [:]
    let api: SimulatedAPI

    init(_ fault: SimulatedFault, api: SimulatedAPI) {
        self.api = api
        switch fault {
        case .auth:
            (status, code, message) = (401, "invalid_api_key", "simulated authentication failure: invalid API key")
            type = api == .anthropic ? "authentication_error" : "invalid_request_error"
        case .rateLimit(let seconds):
            (status, type, code, message) = (429, "rate_limit_error", "rate_limit_exceeded", "simulated rate limit")
            headers[.retryAfter] = String(seconds)
            switch api {
            case .openAI:
                headers[HTTPField.Name("x-ratelimit-remaining-requests")!] = "0"
                headers[HTTPField.Name("x-ratelimit-reset-requests")!] = "\(seconds)s"
            case .anthropic:
                headers[HTTPField.Name("anthropic-ratelimit-requests-remaining")!] = "0"
            }
        default:
            (status, type, code, message) = api == .anthropic
                ? (529, "overloaded_error", "overloaded", "simulated overload")
                : (500, "server_error", "server_error", "simulated server error")
        }
    }

    /// The HTTP body.
    var bodyJSON: String {
        switch api {
        case .openAI: ChatWire.error(message, type: type, code: code)
        case .anthropic: AnthropicWire.error(type: type, message: message)
        }
    }

    /// The same error as one WebSocket message of the chat-completions dialect.
    var inBandJSON: String { ChatWire.error(message, type: type, code: code) }
}

/// The simulator's own rate-limit window, reported on every HTTP answer as OpenAI does
/// (`x-ratelimit-{limit,remaining,reset}-{requests,tokens}`): per minute, 10,000 requests and 1M tokens.
final class RateLimitWindow: Sendable {
    static let requests = 10_000
    static let tokens = 1_000_000

    private struct Window {
        var minute = 0
        var requests = 0
        var tokens = 0
    }

    private let window = NIOLockedValueBox(Window())

    /// The headers of an answer that spends `tokens`.
    func headers(spending tokens: Int, now: Date = Date()) -> HTTPFields {
        let seconds = now.timeIntervalSince1970
        let minute = Int(seconds / 60)
        let used = window.withLockedValue { window in
            if window.minute != minute { window = Window(minute: minute) }
            window.requests += 1
            window.tokens += tokens
            return (window.requests, window.tokens)
        }
        let reset = "\(max(1, 60 - Int(seconds.truncatingRemainder(dividingBy: 60))))s"
        var fields = HTTPFields()
        for (name, value) in [
            ("x-ratelimit-limit-requests", String(Self.requests)),
            ("x-ratelimit-remaining-requests", String(max(0, Self.requests - used.0))),
            ("x-ratelimit-reset-requests", reset),
            ("x-ratelimit-limit-tokens", String(Self.tokens)),
            ("x-ratelimit-remaining-tokens", String(max(0, Self.tokens - used.1))),
            ("x-ratelimit-reset-tokens", reset),
        ] {
            fields[HTTPField.Name(name)!] = value
        }
        return fields
    }
}
