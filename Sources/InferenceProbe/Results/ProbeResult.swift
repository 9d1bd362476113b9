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
    /// Output tokens reported by the response's `usage`, if any.
    public var reportedOutputTokens: Int?
    /// Content-bearing chunks received (1 for a non-streaming response with content).
    public var contentChunks: Int
    /// HTTP status of the response, when one was read.
    public var httpStatus: Int?
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
        let redacted = redact(failure.detail)
        detail = redacted.count > Self.maxDetailLength ? String(redacted.prefix(Self.maxDetailLength)) + "…" : redacted
        timeline.ended = .now
    }

    /// Output tokens: `usage.completion_tokens` when the target sent it, else the content chunks counted.
    public var outputTokens: Int {
        reportedOutputTokens ?? contentChunks
    }
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
