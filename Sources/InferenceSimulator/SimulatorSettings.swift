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

    public init() {}
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
