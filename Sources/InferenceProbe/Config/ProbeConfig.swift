/// The sidecar's whole configuration: what to probe, how often, and with what prompt.
public struct ProbeConfig: Sendable {
    public var targets: [TargetConfig]
    /// Sliding windows of the window statistics (`statistics.windows`), shortest first.
    public var windows: [Duration]

    /// The histograms exported and their buckets (`metrics.histograms`).
    public var histograms: HistogramSet
    /// The statistics of each window exported as gauges (`statistics.gauges`); all by default.
    public var windowGauges: [SampleSummary.Stat]
    /// Which outcome counters are exported (`metrics.outcome_counters`); all, from 0, by default.
    public var outcomeCounters: OutcomeCounterLines

    /// 5 minutes and 1 hour.
    public static let defaultWindows: [Duration] = [.seconds(300), .seconds(3600)]

    public init(targets: [TargetConfig], windows: [Duration] = defaultWindows, histograms: HistogramSet = HistogramSet(),
                windowGauges: [SampleSummary.Stat] = SampleSummary.Stat.allCases, outcomeCounters: OutcomeCounterLines = .all) {
        self.targets = targets
        self.windows = windows
        self.histograms = histograms
        self.windowGauges = windowGauges
        self.outcomeCounters = outcomeCounters
    }

    /// Every target x transport series, in configuration order.
    public var seriesKeys: [SeriesKey] {
        targets.flatMap { target in
            target.transports.map { target.seriesKey(transport: $0) }
        }
    }
}

/// How a target is probed: schedule, per-stage timeouts, prompts and expectations. The `global:` section
/// sets them for every target; a target's own keys override them.
public struct ProbeDefaults: Sendable, Equatable {
    public var interval: Duration = .seconds(30)
    /// The whole probe, from the start of DNS to the end of the response.
    public var timeout: Duration = .seconds(20)
    /// DNS, TCP, TLS and the WebSocket upgrade together (`connect_timeout`).
    public var connectTimeout: Duration = .seconds(5)
    /// From sending the request to the first output text, on streaming transports (`first_token_timeout`).
    public var firstTokenTimeout: Duration = .seconds(15)
    /// Longest silence of a stream after its first output text (`stall_timeout`).
    public var stallTimeout: Duration = .seconds(10)
    /// Prompts sent in turn, one per probe.
    public var prompts: [String] = ["Count from 1 to 20, separated by spaces."]
    /// Prefix each prompt with a random tag, so no provider prompt cache can flatter the time to first token.
    public var nonce = false
    public var maxTokens: Int = 32
    /// What a successful answer must look like; `nil`: any output text.
    public var expect: ResponseExpectation?
    /// Longest pause after rate limits without a `Retry-After` (exponential backoff's cap).
    public var maxBackoff: Duration = .seconds(600)
    /// Ping persistent WebSocket connections this often between probes; `.zero` disables it.
    public var websocketPingInterval: Duration = .seconds(15)
    /// A ping unanswered this long closes the connection (`pong_timeout`).
    public var websocketPongTimeout: Duration = .seconds(5)

    public init() {}
}

/// The answer a probe expects (`expect:`); one that falls short is a `content_mismatch`.
public struct ResponseExpectation: Sendable, Equatable {
    /// A regular expression the answer text must contain a match of.
    public var pattern: String?
    /// Fewest output tokens.
    public var minTokens: Int?

    public init(pattern: String? = nil, minTokens: Int? = nil) {
        self.pattern = pattern
        self.minTokens = minTokens
    }

    /// What the answer lacks, or `nil` when it meets the expectation.
    func shortfall(answer: String, outputTokens: Int) -> String? {
        if let minTokens, outputTokens < minTokens {
            return "\(outputTokens) output tokens, expected at least \(minTokens)"
        }
        // The pattern compiled when the configuration was loaded.
        if let pattern, let regex = try? Regex(pattern), (try? regex.firstMatch(in: answer)) == nil {
            let quoted = answer.count > 80 ? answer.prefix(80) + "…" : Substring(answer)
            return "the answer does not match /\(pattern)/: \"\(quoted)\""
        }
        return nil
    }
}

/// Prices of a target's model in dollars per million tokens (`pricing:`).
public struct Pricing: Sendable, Equatable {
    public var inputPerMillion: Double
    public var outputPerMillion: Double

    public init(inputPerMillion: Double, outputPerMillion: Double) {
        self.inputPerMillion = inputPerMillion
        self.outputPerMillion = outputPerMillion
    }

    /// The price of one request in dollars.
    public func cost(inputTokens: Int, outputTokens: Int) -> Double {
        (Double(inputTokens) * inputPerMillion + Double(outputTokens) * outputPerMillion) / 1_000_000
    }
}

/// One inference endpoint and model to probe over one or more transports.
///
/// It holds the target's credentials, so it prints only its name, URL (query values redacted) and model.
public struct TargetConfig: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The `target` label value; unique within a config.
    public var name: String
    public var baseURL: BaseURL
    public var model: String
    /// The API dialect's name, one of `APICatalog.names` (`chat_completions` unless configured).
    public var api: String
    /// Transport names, each one of `TransportCatalog.names`.
    public var transports: [String]
    public var apiKey: Secret?
    /// Where the API key goes on the wire.
    public var apiKeyPlacement: APIKeyPlacement
    /// Extra request headers (values are treated as secrets: never logged or shown).
    public var headers: [SecretHeader]
    /// Schedule, timeouts, prompts and expectations.
    public var settings: ProbeDefaults
    /// Token prices, for the cost metrics and `dailyBudget`.
    public var pricing: Pricing?
    /// Dollars the target's probes may spend per UTC day; reaching it pauses the target until midnight.
    public var dailyBudget: Double?
    /// WebSocket route relative to the base URL (`stream` -> `/v1/stream`); `nil`: the API's own.
    public var websocketPath: String?
    public var tls: TLSSettings
    /// The HTTP proxy probes tunnel through (`proxy_url`, or the environment's `HTTPS_PROXY` / `HTTP_PROXY`).
    public var proxy: EgressProxy?

    public init(
        name: String, baseURL: BaseURL, model: String, api: String = APICatalog.defaultName, transports: [String],
        apiKey: Secret? = nil,
        apiKeyPlacement: APIKeyPlacement = .bearer,
        headers: [SecretHeader] = [], defaults: ProbeDefaults = ProbeDefaults(),
        websocketPath: String? = nil, tls: TLSSettings = TLSSettings()
    ) {
        self.name = name
        self.baseURL = baseURL
        self.model = model
        self.api = api
        self.transports = transports
        self.apiKey = apiKey
        self.apiKeyPlacement = apiKeyPlacement
        self.headers = headers
        self.settings = defaults
        self.websocketPath = websocketPath
        self.tls = tls
    }

    public var interval: Duration { settings.interval }
    public var timeout: Duration { settings.timeout }
    public var maxTokens: Int { settings.maxTokens }

    public var description: String { "target \(name) (\(baseURL), model \(model))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["name": name, "baseURL": baseURL, "model": model]) }

    /// The series of one of the target's transports.
    public func seriesKey(transport: String) -> SeriesKey {
        SeriesKey(target: name, model: model, api: api, transport: transport)
    }

    /// The target's API dialect (an unknown name, which the configuration rejects, falls back to chat completions).
    var dialect: any APIDialect {
        (APICatalog.dialect(named: api) ?? ChatCompletionsDialect.self).init(target: self)
    }

    /// Every secret value of the target (key, header values, query values), for scrubbing echoed text.
    var secretValues: [String] {
        [apiKey?.value].compactMap { $0 } + headers.map(\.value.value) + baseURL.query.map(\.value.value)
            + (proxy?.secretValues ?? [])
    }
}

/// Where a request carries the API key.
public enum APIKeyPlacement: Sendable, Equatable {
    /// `Authorization: Bearer KEY` (OpenAI and most compatible servers).
    case bearer
    /// The key alone as the value of a named header (`api-key` for Azure, `x-api-key` for Anthropic).
    case header(String)
    /// A query parameter of every request URL (WebSocket endpoints that browsers reach).
    case query(String)
}

/// An extra request header whose value is treated as a secret.
public struct SecretHeader: Sendable, Equatable {
    public var name: String
    public var value: Secret

    public init(name: String, value: Secret) {
        self.name = name
        self.value = value
    }
}

/// TLS options for https / wss targets.
public struct TLSSettings: Sendable, Equatable {
    /// Skip certificate verification (test endpoints only).
    public var insecureSkipVerify: Bool = false
    /// PEM file of extra trusted CA certificates.
    public var caFile: String?

    public init(insecureSkipVerify: Bool = false, caFile: String? = nil) {
        self.insecureSkipVerify = insecureSkipVerify
        self.caFile = caFile
    }
}
