/// Everything one probe observed: identity, outcome, timestamps and token counts.
///
/// A result is produced for every probe, failed or not; statistics are derived from it by `ProbeMeasurement`.
public struct ProbeResult: Sendable {
    /// Which target, model, API and transport were probed.
    public var key: SeriesKey
    public var outcome: ProbeOutcome
    public var timeline: ProbeTimeline
    /// `false` when the probe opened a new connection; `true` when it reused one.
    public var connectionReused: Bool
    /// `true` when the response was a token stream (SSE, WebSocket), so per-token timings exist.
    public var streamed: Bool
    /// Input tokens reported by the response's `usage`, if any.
    public var reportedInputTokens: Int?
    /// Output tokens reported by the response's `usage`, if any.
    public var reportedOutputTokens: Int?
    /// Input tokens estimated from the prompt, for answers without `usage` (about 4 bytes per token).
    public var estimatedInputTokens = 0
    /// What the answer said about rate limits.
    public var rateLimit: RateLimitStatus?
    /// Dollars this probe cost, for targets with `pricing` (from usage, else estimated).
    public var cost: Double?
    /// Why the connection this probe replaced was closed (persistent WebSocket connections).
    public var reconnectReason: ReconnectReason?
    /// Round trips, in seconds, of the keepalive pings answered since the previous probe (WebSocket).
    public var pingRoundTrips: [Double] = []
    /// Content-bearing chunks received (1 for a non-streaming response with content).
    public var contentChunks: Int
    /// HTTP status of the response, when one was read.
    public var httpStatus: Int?
    /// How long after its scheduled time the scheduler started this probe (an overloaded process, or a
    /// probe that outlasted its interval); `nil` for probes not run by the scheduler.
    public var scheduleLateness: Double?
    /// A short human-readable reason for a failure; never contains secrets.
    public var detail: String?

    public init(key: SeriesKey, timeline: ProbeTimeline, streamed: Bool, connectionReused: Bool = false) {
        self.key = key
        self.outcome = .protocolError
        self.timeline = timeline
        self.streamed = streamed
        self.connectionReused = connectionReused
        self.contentChunks = 0
    }

    /// Longest failure detail kept (a server's error message can be long).
    public static let maxDetailLength = 300

    /// Marks the probe failed with `failure`; `redact` scrubs the target's secrets from the detail, which
    /// is shortened only afterwards, so that a secret straddling the cut cannot leave a piece behind.
    public mutating func record(_ failure: ProbeFailure, redact: (String) -> String = { $0 }) {
        outcome = failure.outcome
        httpStatus = failure.status ?? httpStatus
        rateLimit = rateLimit.map { $0.updated(with: failure.rateLimit) } ?? failure.rateLimit
        let redacted = redact(failure.detail)
        detail = redacted.count > Self.maxDetailLength ? String(redacted.prefix(Self.maxDetailLength)) + "…" : redacted
        timeline.ended = .now
    }

    /// Output tokens: `usage.completion_tokens` when the target sent it, else the content chunks counted.
    public var outputTokens: Int {
        reportedOutputTokens ?? contentChunks
    }

    /// Input tokens: from `usage` when the target sent it, else estimated from the prompt.
    public var inputTokens: Int {
        reportedInputTokens ?? estimatedInputTokens
    }

    /// Input tokens of a prompt, roughly (4 bytes a token, plus the chat framing), for answers without usage.
    static func estimatedTokens(of prompt: String) -> Int {
        prompt.utf8.count / 4 + 8
    }

    /// Checks a finished exchange against the target's expectations (a shortfall is a `content_mismatch`)
    /// and prices it. A probe that produced no output and reported no usage is taken to have cost nothing.
    mutating func conclude(target: TargetConfig, answer: String) {
        if outcome == .success, let expectation = target.settings.expect,
           let shortfall = expectation.shortfall(answer: answer, outputTokens: outputTokens) {
            record(ProbeFailure(.contentMismatch, shortfall)) { $0.redactingSecrets(of: target) }
        }
        if let pricing = target.pricing, contentChunks > 0 || reportedInputTokens != nil || reportedOutputTokens != nil {
            cost = pricing.cost(inputTokens: inputTokens, outputTokens: outputTokens)
        }
    }
}

/// Why a persistent connection was replaced: the `reason` label of `inference_probe_websocket_reconnects_total`.
public enum ReconnectReason: String, Sendable, CaseIterable {
    /// A keepalive ping went unanswered.
    case pongTimeout = "pong_timeout"
    /// The server closed the connection between probes.
    case serverClose = "server_close"
    /// A probe on it failed, or the connection broke.
    case error
    /// It reached the API's session limit and was reopened.
    case sessionAge = "session_age"
}

/// The label set every per-probe series carries.
public struct SeriesKey: Sendable, Hashable, CustomStringConvertible {
    public var target: String
    public var model: String
    public var api: String
    public var transport: String

    public init(target: String, model: String, api: String = APICatalog.defaultName, transport: String) {
        self.target = target
        self.model = model
        self.api = api
        self.transport = transport
    }

    public var labels: [(String, String)] {
        [("target", target), ("model", model), ("api", api), ("transport", transport)]
    }

    public var description: String { "\(target)/\(model)/\(api)/\(transport)" }
}
