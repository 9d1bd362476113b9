/// The sidecar's whole configuration: what to probe, how often, and with what prompt.
public struct ProbeConfig: Sendable {
    public var targets: [TargetConfig]

    public init(targets: [TargetConfig]) {
        self.targets = targets
    }

    /// Every target x transport series, in configuration order.
    public var seriesKeys: [SeriesKey] {
        targets.flatMap { target in
            target.transports.map { SeriesKey(target: target.name, model: target.model, transport: $0) }
        }
    }
}

/// Settings shared by all targets unless a target overrides them (the `global:` section).
public struct ProbeDefaults: Sendable, Equatable {
    public var interval: Duration = .seconds(30)
    public var timeout: Duration = .seconds(20)
    public var prompt: String = "Count from 1 to 20, separated by spaces."
    public var maxTokens: Int = 32

    public init() {}
}

/// One OpenAI-compatible endpoint and model to probe over one or more transports.
public struct TargetConfig: Sendable {
    /// The `target` label value; unique within a config.
    public var name: String
    public var baseURL: BaseURL
    public var model: String
    /// Transport names, each one of `TransportCatalog.names`.
    public var transports: [String]
    public var apiKey: APIKey?
    /// Extra request headers (values are treated as secrets: never logged or shown).
    public var headers: [(name: String, value: String)]
    public var interval: Duration
    public var timeout: Duration
    public var prompt: String
    public var maxTokens: Int
    /// WebSocket route relative to the base URL (`stream` -> `/v1/stream`).
    public var websocketPath: String
    public var tls: TLSSettings

    public init(
        name: String, baseURL: BaseURL, model: String, transports: [String], apiKey: APIKey? = nil,
        headers: [(name: String, value: String)] = [], defaults: ProbeDefaults = ProbeDefaults(),
        websocketPath: String = "stream", tls: TLSSettings = TLSSettings()
    ) {
        self.name = name
        self.baseURL = baseURL
        self.model = model
        self.transports = transports
        self.apiKey = apiKey
        self.headers = headers
        self.interval = defaults.interval
        self.timeout = defaults.timeout
        self.prompt = defaults.prompt
        self.maxTokens = defaults.maxTokens
        self.websocketPath = websocketPath
        self.tls = tls
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
