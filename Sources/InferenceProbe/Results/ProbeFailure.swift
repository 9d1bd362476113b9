import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket

/// A failed probe: the outcome it counts as and a short reason for logs and the status page.
public struct ProbeFailure: Error, Sendable, CustomStringConvertible {
    public var outcome: ProbeOutcome
    public var detail: String
    /// HTTP status, when the failure is an HTTP answer.
    public var status: Int?
    /// What the answer said about rate limits (a 429's `Retry-After`).
    public var rateLimit: RateLimitStatus?

    public init(_ outcome: ProbeOutcome, _ detail: String, status: Int? = nil, rateLimit: RateLimitStatus? = nil) {
        self.outcome = outcome
        self.detail = detail
        self.status = status
        self.rateLimit = rateLimit
    }

    public var description: String { "\(outcome.rawValue): \(detail)" }

    /// The failure for an HTTP status that is not 2xx.
    static func httpStatus(_ code: Int, message: String?) -> ProbeFailure {
        let text = message.map { "HTTP \(code): \($0)" } ?? "HTTP \(code)"
        return ProbeFailure(outcome(forStatus: code), text, status: code)
    }

    /// A connection that closed after output began cut the answer short (`truncated`) rather than
    /// preventing one (`connection_closed`); `status` is the answer's, when it had one.
    func afterOutput(_ outputBegan: Bool, status: Int? = nil) -> ProbeFailure {
        guard outcome == .connectionClosed, outputBegan else { return self }
        return ProbeFailure(.truncated, "\(detail), after output began (truncated)", status: status ?? self.status)
    }

    /// The outcome an HTTP status stands for.
    static func outcome(forStatus code: Int) -> ProbeOutcome {
        switch code {
        case 401, 403: .authError
        case 429: .rateLimited
        case 400..<500: .clientError
        case 500..<600: .serverError
        default: .protocolError  // 1xx or 3xx where an answer was expected: redirects are not followed
        }
    }

    /// Maps any error raised while probing to the outcome it stands for.
    static func classify(_ error: any Error) -> ProbeFailure {
        switch error {
        case let failure as ProbeFailure:
            return failure
        case let error as IOError:
            switch error.errnoCode {
            case ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL:
                return ProbeFailure(.connectError, "connect: \(error.description)")
            case ECONNRESET, EPIPE:
                return ProbeFailure(.connectionClosed, "connection reset by peer")
            case ETIMEDOUT:
                return ProbeFailure(.connectTimeout, "connect: \(error.description)")
            default:
                return ProbeFailure(.connectError, error.description)
            }
        case let error as ChannelError:
            switch error {
            case .connectTimeout: return ProbeFailure(.connectTimeout, "TCP connect timed out")
            case .eof, .ioOnClosedChannel, .alreadyClosed, .outputClosed, .inputClosed:
                return ProbeFailure(.connectionClosed, "connection closed before the response ended")
            default: return ProbeFailure(.connectError, "\(error)")
            }
        case is NIOSSLError, is NIOSSLExtraError, is BoringSSLError:
            return ProbeFailure(.tlsError, "TLS: \(TLSFailureReport.reason(error))")
        case is SocketAddressError:
            return ProbeFailure(.dnsError, "DNS: \(error)")
        case let error as NIOWebSocketError:
            switch error {
            case .invalidFrameLength: return ProbeFailure(.oversize, "WebSocket frame larger than the limit")
            default: return ProbeFailure(.protocolError, "WebSocket: \(error)")
            }
        case HTTPParserError.invalidEOFState:
            return ProbeFailure(.connectionClosed, "connection closed in the middle of the response")
        case is HTTPParserError, is NIOHTTPClientUpgradeError, is NIOWebSocketUpgradeError:
            return ProbeFailure(.protocolError, "\(error)")
        default:
            return ProbeFailure(.protocolError, "\(error)")
        }
    }
}
