/// How the simulator behaves: latency and faults per transport, reproducible from a seed.
public struct SimulatorSettings: Sendable {
    /// Seed of the random source behind every sampled delay and fault; the same seed and the same
    /// sequence of requests give the same delays.
    public var seed: UInt64 = 1
    /// When set, requests must carry `Authorization: Bearer <key>` (WebSocket: or `?api_key=<key>`).
    public var apiKey: String?
    /// Models listed by `GET /v1/models`; requests may name any model.
    public var models: [String] = ["simulated-model"]
    /// Behaviour of transports without an entry in `profiles`.
    public var defaultProfile = LatencyProfile()
    public var profiles: [SimulatedTransport: LatencyProfile] = [:]
    /// When set, the simulator serves https and wss with this certificate.
    public var tls: TLSFiles?
    /// Longest a stalled answer or a silent WebSocket is held open (a prober gives up long before).
    public var stallLimit: Duration = .seconds(60)

    public init() {}

    public func profile(for transport: SimulatedTransport) -> LatencyProfile {
        profiles[transport] ?? defaultProfile
    }
}

/// PEM files of a server certificate (chain) and its private key.
public struct TLSFiles: Sendable, Equatable {
    public var certificateChain: String
    public var privateKey: String

    public init(certificateChain: String, privateKey: String) {
        self.certificateChain = certificateChain
        self.privateKey = privateKey
    }
}

/// The three ways the simulator answers a chat completion.
public enum SimulatedTransport: String, Sendable, CaseIterable {
    /// `POST /v1/chat/completions` without `stream`.
    case http
    /// `POST /v1/chat/completions` with `"stream": true` (Server-Sent Events).
    case httpSSE = "http_sse"
    /// Messages on the `/v1/stream` WebSocket.
    case websocket
}

/// Latency, length and faults of the simulated responses of one transport.
public struct LatencyProfile: Sendable, Equatable {
    /// Time from the request to the first output token.
    public var timeToFirstToken = Delay(mean: .milliseconds(200))
    /// Time between consecutive output tokens.
    public var interTokenDelay = Delay(mean: .milliseconds(20))
    /// Output tokens per response (a request's `max_tokens` caps it).
    public var outputTokens = 20
    /// Fraction of requests answered 500 (0...1).
    public var errorRate = 0.0
    /// Fraction of requests answered 429 (0...1).
    public var rateLimitRate = 0.0
    /// Other faults, each with the fraction of requests it hits; the fractions (with the two above) add up
    /// to at most 1, and one roll per request picks at most one fault.
    public var faults: [(fault: SimulatedFault, rate: Double)] = []

    public init() {}

    /// Every fault with its rate, the two classic ones first.
    public var allFaults: [(fault: SimulatedFault, rate: Double)] {
        [(.serverError, errorRate), (.rateLimit(retryAfterSeconds: 1), rateLimitRate)] + faults
    }

    public static func == (lhs: LatencyProfile, rhs: LatencyProfile) -> Bool {
        lhs.timeToFirstToken == rhs.timeToFirstToken && lhs.interTokenDelay == rhs.interTokenDelay
            && lhs.outputTokens == rhs.outputTokens && lhs.allFaults.elementsEqual(rhs.allFaults) { $0 == $1 }
    }
}

/// A misbehaviour the simulator can inject into an answer.
public enum SimulatedFault: Sendable, Equatable {
    /// 401 (an in-band authentication error over WebSocket).
    case auth
    /// 429 with `Retry-After` and `x-ratelimit-*` headers (an in-band rate-limit error over WebSocket).
    case rateLimit(retryAfterSeconds: Int)
    /// 500 (529 for Anthropic; an in-band server error over WebSocket).
    case serverError
    /// Stops sending after this many tokens and keeps the connection open.
    case stall(afterTokens: Int)
    /// Ends the answer after this many tokens without the API's terminal event (a WebSocket is closed).
    case truncate(afterTokens: Int)
    /// Delays the response head (over WebSocket: the first message) by this long.
    case slowHeaders(Duration)
    /// Sends a line or message just over 1 MiB (a body just over 8 MiB): over inference-probe's limits.
    case oversize
    /// Sends a chunk that is not valid JSON after this many tokens.
    case malformed(afterTokens: Int)
    /// Drops the connection after this many tokens.
    case reset(afterTokens: Int)
    /// WebSocket: answers, then stops reading and writing (no pong, no answer) until the client leaves.
    case silent

    /// The fault's name on the command line (`--fault stall@3=0.1`).
    public var name: String {
        switch self {
        case .auth: "auth"
        case .rateLimit: "rate_limit"
        case .serverError: "server_error"
        case .stall: "stall"
        case .truncate: "truncate"
        case .slowHeaders: "slow_headers"
        case .oversize: "oversize"
        case .malformed: "malformed"
        case .reset: "reset"
        case .silent: "silent"
        }
    }

    /// Faults answered instead of a response (an error status, or an in-band error).
    var isRefusal: Bool {
        switch self {
        case .auth, .rateLimit, .serverError: true
        default: false
        }
    }
}

/// A delay drawn from a normal distribution with `mean` and standard deviation `spread`, never negative.
/// A zero spread makes it fixed.
public struct Delay: Sendable, Equatable {
    public var mean: Duration
    public var spread: Duration

    public init(mean: Duration, spread: Duration = .zero) {
        self.mean = mean
        self.spread = spread
    }

    func sample(_ random: inout SeededRandom) -> Duration {
        guard spread > .zero else { return mean }
        return max(.zero, mean + spread * random.nextGaussian())
    }
}
