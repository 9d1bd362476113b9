/// The sidecar's whole configuration: what to probe, how often, and with what prompt.
public struct ProbeConfig: Sendable {
    public var targets: [TargetConfig]

    public init(targets: [TargetConfig]) {
        self.targets = targets
    }

    /// Every target x transport series, in configuration order.
    public var seriesKeys: [SeriesKey] {
        targets.flatMap { target in
            target.transports.map { target.seriesKey(transport: $0) }
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
    public var interval: Duration
    public var timeout: Duration
    public var prompt: String
    public var maxTokens: Int
    /// WebSocket route relative to the base URL (`stream` -> `/v1/stream`); `nil`: the API's own.
    public var websocketPath: String?
    public var tls: TLSSettings

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
        self.interval = defaults.interval
        self.timeout = defaults.timeout
        self.prompt = defaults.prompt
        self.maxTokens = defaults.maxTokens
        self.websocketPath = websocketPath
        self.tls = tls
    }

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
