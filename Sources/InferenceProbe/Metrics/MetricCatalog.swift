import Prometheus

/// Every series name the sidecar exports, with its help text: the single source of the metrics reference.
/// (Computed properties: `MetricNameDescriptor` is not `Sendable`, so it cannot be a stored static.)
enum MetricCatalog {
    private static func name(_ metric: String, unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "inference_probe", metricName: metric, unitName: unit, helpText: help)
    }

    static var buildInfo: MetricNameDescriptor { name("build", unit: "info", "Build information of the running inference-probe; always 1.") }
    static var configReloadSuccessful: MetricNameDescriptor { name(
        "config_last_reload", unit: "successful", "1 if the last configuration load (start-up or reload) succeeded, 0 if it failed.") }
    static var configReloadTimestamp: MetricNameDescriptor { name(
        "config_last_reload_success_timestamp", unit: "seconds", "Unix time of the last successful configuration load.") }
    static var probes: MetricNameDescriptor { name("probes", unit: "total", "Probes run, by outcome.") }
    static var outputTokens: MetricNameDescriptor { name(
        "output_tokens", unit: "total", "Output tokens of successful probes (usage.completion_tokens, else chunks counted).") }
    static var lastSuccess: MetricNameDescriptor { name("last_probe", unit: "success", "1 if the last probe succeeded, 0 otherwise.") }
    static var lastTimestamp: MetricNameDescriptor { name(
        "last_probe_timestamp", unit: "seconds", "Unix time at which the last probe finished.") }
    static var connectionSetup: MetricNameDescriptor { name(
        "connection_setup", unit: "seconds", "Time to open a connection: DNS, TCP connect, TLS and WebSocket upgrade.") }
    static var connectionPhase: MetricNameDescriptor { name(
        "connection_phase", unit: "seconds",
        "Duration of each phase of the last connection opened: dns, connect, proxy_connect, tls, websocket_upgrade.") }
    static var timeToFirstByte: MetricNameDescriptor { name(
        "time_to_first_byte", unit: "seconds", "Time from sending the request to the first response byte.") }
    static var timeToFirstToken: MetricNameDescriptor { name(
        "time_to_first_token", unit: "seconds",
        "Time from sending the request to the first chunk carrying output text (streaming transports).") }
    static var interTokenLatency: MetricNameDescriptor { name(
        "inter_token_latency", unit: "seconds", "Gap between consecutive output chunks of a stream.") }
    static var interTokenJitter: MetricNameDescriptor { name(
        "inter_token_jitter", unit: "seconds",
        "Standard deviation of the gaps between output chunks within one stream: how evenly it flowed.") }
    static var requestDuration: MetricNameDescriptor { name(
        "request_duration", unit: "seconds", "End-to-end time from sending the request to the end of the response.") }
    static var outputTokenRate: MetricNameDescriptor { name(
        "output_tokens_per_second", unit: "",
        "Generation speed: output tokens after the first per second of streaming, or per request second without streaming.") }

    static var scheduleLateness: MetricNameDescriptor { name(
        "schedule_lateness", unit: "seconds",
        "How long after its scheduled time each probe started, over every series: near 0 while the process keeps up.") }
    static let latenessBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    static var probesSkipped: MetricNameDescriptor { name(
        "probes_skipped", unit: "total", "Scheduled probes not sent, by reason: rate_limited (backing off), budget (daily budget spent).") }
    static var backoffRemaining: MetricNameDescriptor { name(
        "backoff_remaining", unit: "seconds", "Time left in the target's rate-limit pause; 0 when not backing off.") }
    static var rateLimitRemaining: MetricNameDescriptor { name(
        "rate_limit_remaining", unit: "",
        "Requests or tokens left in the provider's rate-limit window, as its last answer reported them.") }
    static var inputTokens: MetricNameDescriptor { name(
        "input_tokens", unit: "total", "Input tokens of probes, from the API's usage (else estimated from the prompt).") }
    static var cost: MetricNameDescriptor { name(
        "cost_dollars", unit: "total", "Dollars spent on probes, from usage and the target's pricing.") }
    static var dailyCost: MetricNameDescriptor { name(
        "daily_cost", unit: "dollars", "Dollars spent on the target's probes since midnight UTC.") }
    static var budgetExhausted: MetricNameDescriptor { name(
        "daily_budget_exhausted", unit: "", "1 while the target's daily budget is spent and its probes are paused, else 0.") }
    static var pingRoundTrip: MetricNameDescriptor { name(
        "websocket_ping_rtt", unit: "seconds", "Round trip of keepalive pings on persistent WebSocket connections.") }
    static var reconnects: MetricNameDescriptor { name(
        "websocket_reconnects", unit: "total",
        "Persistent WebSocket connections replaced, by why the old one closed: pong_timeout, server_close, error, session_age.") }

    static var windowProbes: MetricNameDescriptor { name(
        "window_probes", unit: "", "Probes finished in the sliding window (label window).") }
    static var windowAvailability: MetricNameDescriptor { name(
        "window_availability", unit: "ratio", "Successful probes / probes in the sliding window.") }

    /// The window gauges of each figure (labels `window` and `stat`: mean, stddev, p50, p90, p99, min, max),
    /// computed exactly over the successful probes of the window. Gauges, not histograms.
    static var windowFigures: [(descriptor: MetricNameDescriptor, figure: WindowSnapshot.Figure)] {
        [(windowFigure("time_to_first_token", unit: "seconds", "time to first token"), .timeToFirstToken),
         (windowFigure("inter_token_latency", unit: "seconds", "gaps between output chunks"), .interTokenLatency),
         (windowFigure("request_duration", unit: "seconds", "end-to-end duration"), .duration),
         (windowFigure("output_tokens_per_second", unit: "", "output tokens per second"), .tokensPerSecond),
         (windowFigure("connection_setup", unit: "seconds", "connection setup of probes that opened one"), .connectionSetup)]
    }

    private static func windowFigure(_ metric: String, unit: String, _ what: String) -> MetricNameDescriptor {
        name("window_" + metric, unit: unit,
             "Sliding-window statistic (label stat: mean, stddev, p50, p90, p99, min, max) of the \(what); a gauge, exact over the window's successful probes.")
    }

    /// The series name of each histogram.
    static func histogram(_ kind: HistogramSet.Kind) -> MetricNameDescriptor {
        switch kind {
        case .connectionSetup: connectionSetup
        case .timeToFirstByte: timeToFirstByte
        case .timeToFirstToken: timeToFirstToken
        case .interTokenLatency: interTokenLatency
        case .interTokenJitter: interTokenJitter
        case .requestDuration: requestDuration
        case .outputTokensPerSecond: outputTokenRate
        case .websocketPingRoundTrip: pingRoundTrip
        case .scheduleLateness: scheduleLateness
        }
    }

    static let ttftBuckets = [0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20, 30]
    static let interTokenBuckets = [0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1, 2]
    static let durationBuckets = [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 20, 30, 60, 120]
    static let connectBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
    static let tokenRateBuckets = [1.0, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 1000]
}
