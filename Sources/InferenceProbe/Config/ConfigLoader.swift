import Foundation
import Yams

/// Reads and validates the YAML configuration file (`--config.file`).
///
/// ```yaml
/// global:            # optional; every key optional, and each may be set per target too
///   interval: 30s
///   timeout: 20s
///   connect_timeout: 5s
///   first_token_timeout: 15s
///   stall_timeout: 10s
///   prompts: ["Count from 1 to 20, separated by spaces."]   # or prompt: "..."
///   nonce: false
///   max_tokens: 32
///   expect: {regex: "20", min_tokens: 10}
/// statistics:        # optional
///   windows: [5m, 1h]
///   gauges: [mean, p50, p99]   # which statistics of each window are gauges (default all; false: none)
/// metrics:           # optional: which histograms, with which buckets (read at start)
///   histograms:
///     time_to_first_token: [0.1, 0.25, 0.5, 1, 2.5, 5]
///     inter_token_jitter: false
///   outcome_counters: observed   # only outcomes counted at least once (default all, from 0)
/// targets:
///   - name: openai
///     base_url: https://api.openai.com/v1
///     model: gpt-4o-mini
///     transports: [http, http_sse]
///     api_key_env: OPENAI_API_KEY        # or api_key_file: /etc/secrets/openai
///     pricing: {input_per_million: 0.15, output_per_million: 0.60}
///     daily_budget: 1.00
///     proxy_url: http://proxy:3128       # else HTTPS_PROXY / HTTP_PROXY unless NO_PROXY; "direct": none
/// ```
public enum ConfigLoader {
    static let globalKeys = [
        "interval", "timeout", "connect_timeout", "first_token_timeout", "stall_timeout", "prompt", "prompts", "nonce",
        "max_tokens", "expect", "max_backoff", "websocket_ping_interval", "websocket_pong_timeout",
    ]
    static let targetKeys = [
        "name", "base_url", "model", "api", "transports", "api_key_env", "api_key_file", "api_key_header", "api_key_query", "headers",
        "websocket_path", "tls", "pricing", "daily_budget", "proxy_url",
    ] + globalKeys

    /// Loads `file`. Every problem is a `ConfigError` naming the file, the key and the reason.
    public static func load(
        file: String, environment: [String: String] = ProcessInfo.processInfo.environment,
        transports: [String] = TransportCatalog.names
    ) throws(ConfigError) -> ProbeConfig {
        guard let data = FileManager.default.contents(atPath: file) else {
            let reason = FileManager.default.fileExists(atPath: file) ? "cannot read the file" : "no such file"
            throw ConfigError(file: file, key: "", reason: reason)
        }
        return try parse(String(decoding: data, as: UTF8.self), file: file, environment: environment,
                         transports: transports)
    }

    /// Parses configuration text; `file` is only used in error messages.
    public static func parse(
        _ yaml: String, file: String, environment: [String: String] = [:],
        transports: [String] = TransportCatalog.names
    ) throws(ConfigError) -> ProbeConfig {
        let root = try YAMLConfigNode.document(yaml, file: file, whenEmpty: "the file is empty (it needs a targets: list)")
        let top = try root.mapping(allowed: ["global", "statistics", "metrics", "targets"])
        var defaults = ProbeDefaults()
        if let global = top["global"] {
            defaults = try parseDefaults(try global.mapping(allowed: globalKeys), inheriting: defaults)
        }
        guard let targetsNode = top["targets"] else {
            throw ConfigError(file: file, key: "targets", reason: "missing (list at least one target)")
        }
        let targetNodes = try targetsNode.sequence()
        guard !targetNodes.isEmpty else { throw targetsNode.error("must list at least one target") }
        var targets: [TargetConfig] = []
        for node in targetNodes {
            let target = try parseTarget(node, defaults: defaults, environment: environment, transports: transports)
            if targets.contains(where: { $0.name == target.name }) {
                throw node.child("name", node.node).error("duplicate target name '\(target.name)'")
            }
            targets.append(target)
        }
        var windows = ProbeConfig.defaultWindows
        var windowGauges = SampleSummary.Stat.allCases
        if let statistics = top["statistics"] {
            let keys = try statistics.mapping(allowed: ["windows", "gauges"])
            windows = try parseWindows(keys) ?? windows
            if let node = keys["gauges"] { windowGauges = try parseWindowGauges(node) }
        }
        var histograms = HistogramSet()
        var outcomeCounters = OutcomeCounterLines.all
        if let metrics = top["metrics"] {
            let keys = try metrics.mapping(allowed: ["histograms", "outcome_counters"])
            if let node = keys["histograms"] { histograms = try parseHistograms(node) }
            if let node = keys["outcome_counters"] {
                let name = try node.string()
                guard let lines = OutcomeCounterLines(rawValue: name) else {
                    let known = OutcomeCounterLines.allCases.map(\.rawValue).joined(separator: " or ")
                    throw node.error("unknown value '\(name)' (expected \(known))")
                }
                outcomeCounters = lines
            }
        }
        return ProbeConfig(targets: targets, windows: windows, histograms: histograms, windowGauges: windowGauges,
                           outcomeCounters: outcomeCounters)
    }

    /// `statistics.gauges`: which statistics of each window are exported as gauges (`false`: none; the
    /// status page and `compare` keep them all).
    static func parseWindowGauges(_ node: YAMLConfigNode) throws(ConfigError) -> [SampleSummary.Stat] {
        guard node.node.sequence != nil else {
            return try node.bool() ? SampleSummary.Stat.allCases : []
        }
        var stats: [SampleSummary.Stat] = []
        for element in try node.sequence() {
            let name = try element.string()
            guard let stat = SampleSummary.Stat(rawValue: name) else {
                throw element.error("unknown statistic '\(name)' (expected one of \(SampleSummary.Stat.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard !stats.contains(stat) else { throw element.error("statistic listed twice") }
            stats.append(stat)
        }
        return SampleSummary.Stat.allCases.filter(stats.contains)
    }

    /// `metrics.histograms`: per histogram, `false` (not exported), `true` (default buckets) or a list of
    /// ascending positive bucket bounds; histograms not named keep their defaults.
    static func parseHistograms(_ node: YAMLConfigNode) throws(ConfigError) -> HistogramSet {
        var set = HistogramSet()
        for (name, entry) in try node.mapping(allowed: HistogramSet.Kind.allCases.map(\.rawValue)) {
            let kind = HistogramSet.Kind(rawValue: name)!
            if entry.node.sequence == nil {
                if try entry.bool() { set.enable(kind) } else { set.disable(kind) }
                continue
            }
            var buckets: [Double] = []
            for bound in try entry.sequence() { buckets.append(try bound.positiveNumber()) }
            guard !buckets.isEmpty, zip(buckets, buckets.dropFirst()).allSatisfy({ $0 < $1 }) else {
                throw entry.error("must list at least one bucket bound, in ascending order")
            }
            set.enable(kind, buckets: buckets)
        }
        return set
    }

    /// `statistics: {windows: [5m, 1h]}`: one to four distinct windows of 1 minute to 1 day.
    static func parseWindows(_ keys: [String: YAMLConfigNode]) throws(ConfigError) -> [Duration]? {
        guard let node = keys["windows"] else { return nil }
        var windows: [Duration] = []
        for element in try node.sequence() {
            let window = try element.positiveDuration()
            guard window >= .seconds(60), window <= .seconds(86_400) else {
                throw element.error("a window must be between 1m and 1d")
            }
            guard !windows.contains(window) else { throw element.error("window listed twice") }
            windows.append(window)
        }
        guard (1...4).contains(windows.count) else { throw node.error("list one to four windows") }
        return windows.sorted()
    }

    /// Reads the keys shared by `global:` and a target (a target's values override the global ones).
    static func parseDefaults(_ keys: [String: YAMLConfigNode], inheriting base: ProbeDefaults) throws(ConfigError) -> ProbeDefaults {
        var defaults = base
        if let value = keys["interval"] { defaults.interval = try value.positiveDuration() }
        if let value = keys["timeout"] { defaults.timeout = try value.positiveDuration() }
        if let value = keys["connect_timeout"] { defaults.connectTimeout = try value.positiveDuration() }
        if let value = keys["first_token_timeout"] { defaults.firstTokenTimeout = try value.positiveDuration() }
        if let value = keys["stall_timeout"] { defaults.stallTimeout = try value.positiveDuration() }
        switch (keys["prompt"], keys["prompts"]) {
        case (.some(let prompt), .some): throw prompt.error("set either prompt or prompts, not both")
        case (.some(let prompt), .none): defaults.prompts = [try prompt.nonEmptyString()]
        case (.none, .some(let prompts)):
            let list = try prompts.sequence()
            guard !list.isEmpty else { throw prompts.error("must list at least one prompt") }
            var texts: [String] = []
            for element in list { texts.append(try element.nonEmptyString()) }
            defaults.prompts = texts
        case (.none, .none): break
        }
        if let value = keys["nonce"] { defaults.nonce = try value.bool() }
        if let value = keys["max_tokens"] { defaults.maxTokens = try value.positiveInt() }
        if let value = keys["expect"] { defaults.expect = try parseExpectation(value) }
        if let value = keys["max_backoff"] { defaults.maxBackoff = try value.positiveDuration() }
        if let value = keys["websocket_ping_interval"] { defaults.websocketPingInterval = try value.duration() }
        if let value = keys["websocket_pong_timeout"] { defaults.websocketPongTimeout = try value.positiveDuration() }
        return defaults
    }

    /// `expect: {regex: "...", min_tokens: N}`; the regex must compile.
    static func parseExpectation(_ node: YAMLConfigNode) throws(ConfigError) -> ResponseExpectation {
        let keys = try node.mapping(allowed: ["regex", "min_tokens"])
        var expectation = ResponseExpectation()
        if let regex = keys["regex"] {
            let pattern = try regex.nonEmptyString()
            do {
                _ = try Regex(pattern)
            } catch {
                throw regex.error("is not a valid regular expression: \(error)")
            }
            expectation.pattern = pattern
        }
        if let minTokens = keys["min_tokens"] { expectation.minTokens = try minTokens.positiveInt() }
        guard expectation.pattern != nil || expectation.minTokens != nil else {
            throw node.error("set regex, min_tokens or both")
        }
        return expectation
    }

    /// `pricing: {input_per_million: 0.15, output_per_million: 0.60}` (dollars per million tokens).
    static func parsePricing(_ node: YAMLConfigNode) throws(ConfigError) -> Pricing {
        let keys = try node.mapping(allowed: ["input_per_million", "output_per_million"])
        func price(_ key: String) throws(ConfigError) -> Double {
            guard let value = keys[key] else {
                throw ConfigError(file: node.file, key: "\(node.path).\(key)", line: node.line, reason: "missing")
            }
            guard let number = value.number, number.isFinite, number >= 0 else {
                throw value.error("must be a price of zero or more dollars per million tokens")
            }
            return number
        }
        return Pricing(inputPerMillion: try price("input_per_million"), outputPerMillion: try price("output_per_million"))
    }

    static func parseTarget(
        _ node: YAMLConfigNode, defaults: ProbeDefaults, environment: [String: String], transports known: [String]
    ) throws(ConfigError) -> TargetConfig {
        let keys = try node.mapping(allowed: targetKeys)
        func required(_ key: String) throws(ConfigError) -> YAMLConfigNode {
            guard let value = keys[key] else {
                throw ConfigError(file: node.file, key: "\(node.path).\(key)", line: node.line, reason: "missing")
            }
            return value
        }
        let name = try required("name").nonEmptyString()
        guard isToken(name, allowing: "_-.") else {
            throw try required("name").error("'\(name)' may only hold letters, digits, '_', '-' and '.'")
        }
        let urlNode = try required("base_url")
        let baseURL: BaseURL
        switch BaseURL.parse(try urlNode.nonEmptyString()) {
        case .success(let url): baseURL = url
        case .failure(let reason): throw urlNode.error("invalid URL: \(reason)")
        }
        let model = try required("model").nonEmptyString()
        var dialect: any APIDialect.Type = ChatCompletionsDialect.self
        if let apiNode = keys["api"] {
            let apiName = try apiNode.nonEmptyString()
            guard let named = APICatalog.dialect(named: apiName) else {
                throw apiNode.error("unknown api '\(apiName)' (expected one of: \(APICatalog.names.joined(separator: ", ")))")
            }
            dialect = named
        }
        let api = dialect.name

        let transportsNode = try required("transports")
        var transports: [String] = []
        for element in try transportsNode.sequence() {
            let transport = try element.string()
            guard known.contains(transport) else {
                throw element.error("unknown transport '\(transport)' (expected one of: \(known.joined(separator: ", ")))")
            }
            guard dialect.transports.contains(transport) else {
                throw element.error("the \(api) API has no \(transport) transport (it has: \(dialect.transports.joined(separator: ", ")))")
            }
            guard !transports.contains(transport) else { throw element.error("transport '\(transport)' is listed twice") }
            transports.append(transport)
        }
        guard !transports.isEmpty else { throw transportsNode.error("must list at least one transport") }

        var apiKey: Secret?
        switch (keys["api_key_env"], keys["api_key_file"]) {
        case (.some(let env), .some):
            throw env.error("set either api_key_env or api_key_file, not both")
        case (.some(let env), .none):
            apiKey = try resolve(.environment(try env.nonEmptyString()), at: env, environment: environment)
        case (.none, .some(let file)):
            apiKey = try resolve(.file(try file.nonEmptyString()), at: file, environment: environment)
        case (.none, .none):
            apiKey = nil
        }

        var placement = dialect.defaultKeyPlacement
        switch (keys["api_key_header"], keys["api_key_query"]) {
        case (.some(let header), .some):
            throw header.error("set either api_key_header or api_key_query, not both")
        case (.some(let header), .none):
            placement = .header(try header.headerName())
        case (.none, .some(let query)):
            let name = try query.nonEmptyString()
            guard isToken(name, allowing: "_-.") else {
                throw query.error("'\(name)' is not a plain query parameter name")
            }
            placement = .query(name)
        case (.none, .none):
            break
        }

        var headers: [SecretHeader] = []
        if let headersNode = keys["headers"] {
            guard let mapping = headersNode.node.mapping else { throw headersNode.error("must be a mapping of header names to values") }
            for (key, value) in mapping {
                guard let header = key.string, isToken(header, allowing: "-_") else {
                    throw headersNode.error("has an invalid header name")
                }
                // The value may be a credential: the error names the header, never the value.
                guard let text = value.scalar?.string, !text.contains(where: \.isNewline) else {
                    throw headersNode.child(header, value).error("must be a single-line string")
                }
                headers.append(SecretHeader(name: header, value: Secret(text)))
            }
        }

        let settings = try parseDefaults(keys, inheriting: defaults)
        var target = TargetConfig(name: name, baseURL: baseURL, model: model, api: api, transports: transports,
                                  apiKey: apiKey, apiKeyPlacement: placement, headers: headers, defaults: settings)
        if let path = keys["websocket_path"] {
            target.websocketPath = String(try path.nonEmptyString().drop(while: { $0 == "/" }))
        }
        if let value = keys["pricing"] { target.pricing = try parsePricing(value) }
        if let value = keys["daily_budget"] {
            guard target.pricing != nil else {
                throw value.error("needs pricing: the budget is counted from the prices of the tokens used")
            }
            target.dailyBudget = try value.positiveNumber()
        }
        if let tlsNode = keys["tls"] {
            let tls = try tlsNode.mapping(allowed: ["insecure_skip_verify", "ca_file"])
            if let value = tls["insecure_skip_verify"] { target.tls.insecureSkipVerify = try value.bool() }
            if let value = tls["ca_file"] {
                let path = try value.nonEmptyString()
                guard FileManager.default.isReadableFile(atPath: path) else { throw value.error("cannot read \(path)") }
                target.tls.caFile = path
            }
        }
        target.proxy = try parseProxy(keys["proxy_url"], for: target.baseURL, environment: environment, at: urlNode)
        return target
    }

    /// The target's `proxy_url` (`direct` for none), else the environment's proxy for its URL.
    static func parseProxy(_ node: YAMLConfigNode?, for url: BaseURL, environment: [String: String],
                           at urlNode: YAMLConfigNode) throws(ConfigError) -> EgressProxy? {
        if let node {
            let text = try node.nonEmptyString()
            guard text != "direct" else { return nil }
            switch EgressProxy.parse(text) {
            case .success(let proxy): return proxy
            case .failure(let error): throw node.error("\(error)")
            }
        }
        guard let (variable, proxy) = EgressProxy.fromEnvironment(for: url, environment) else { return nil }
        switch proxy {
        case .success(let proxy): return proxy
        case .failure(let error): throw urlNode.error("the proxy in environment variable \(variable) \(error)")
        }
    }

    /// `true` for a non-empty run of ASCII letters, digits and the `allowing` characters (names, header
    /// names, query parameter names).
    static func isToken(_ text: String, allowing extra: String) -> Bool {
        !text.isEmpty && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || extra.contains($0)) }
    }

    static func resolve(_ source: SecretSource, at node: YAMLConfigNode, environment: [String: String]) throws(ConfigError) -> Secret {
        switch Secret.resolve(source, environment: environment) {
        case .success(let key): return key
        case .failure(let reason): throw node.error(reason.description)
        }
    }

    static func syntaxError(_ error: YamlError, file: String) -> ConfigError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
             .composer(_, let problem, let mark, _):
            return ConfigError(file: file, key: "", line: mark.line, reason: "YAML syntax error: \(problem) (column \(mark.column))")
        default:
            return ConfigError(file: file, key: "", reason: "YAML error: \(error)")
        }
    }
}
