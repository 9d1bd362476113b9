import Foundation
import ArgumentParser
import InferenceProbe
import InferenceSimulator

/// The simulator's behaviour as command-line options (shared by `simulate` and `demo`).
struct SimulatorOptions: ParsableArguments {
    @Option(help: "Mean time to first token, e.g. 200ms.")
    var ttft = DurationArgument(.milliseconds(200))
    @Option(name: .customLong("ttft-spread"), help: "Standard deviation of the time to first token.")
    var ttftSpread = DurationArgument(.milliseconds(20))
    @Option(name: .customLong("inter-token"), help: "Mean delay between output tokens.")
    var interToken = DurationArgument(.milliseconds(20))
    @Option(name: .customLong("inter-token-spread"), help: "Standard deviation of the delay between tokens.")
    var interTokenSpread = DurationArgument(.milliseconds(2))
    @Option(help: "Output tokens per response (a request's max_tokens caps it).")
    var tokens = 20
    @Option(name: .customLong("error-rate"), help: "Fraction of requests answered 500, 0 to 1.")
    var errorRate = 0.0
    @Option(name: .customLong("rate-limit-rate"), help: "Fraction of requests answered 429, 0 to 1.")
    var rateLimitRate = 0.0
    @Option(
        name: .customLong("profile"),
        help: ArgumentHelp(
            "Per-transport override, repeatable: TRANSPORT:key=value,... with keys ttft, ttft_spread, inter_token, inter_token_spread, tokens, error_rate, rate_limit_rate.",
            valueName: "transport:settings"))
    var profiles: [ProfileOverride] = []
    @Option(
        name: .customLong("fault"),
        help: ArgumentHelp(
            "Inject a fault into a fraction of answers, repeatable: [TRANSPORT:]KIND[@PARAM]=RATE. KIND: auth, rate_limit@SECONDS, server_error, stall@N, truncate@N, slow_headers@DURATION, oversize, malformed@N, reset@N, silent (N: tokens sent first).",
            valueName: "fault"))
    var faults: [FaultOption] = []
    @Option(name: .customLong("stall-limit"), help: "How long a stalled answer or a silent WebSocket is held open.")
    var stallLimit = DurationArgument(.seconds(60))
    @Option(help: "Seed of the random source behind sampled delays and faults.")
    var seed: UInt64 = 1
    @Option(name: .customLong("api-key-env"), help: "Require the API key held by this environment variable.")
    var apiKeyEnv: String?
    @Option(name: .customLong("model"), help: "A model listed by /v1/models (repeatable).")
    var models: [String] = ["simulated-model"]
    @Option(name: .customLong("tls.cert-file"), help: "Serve https and wss with this PEM certificate (chain).")
    var tlsCertificate: String?
    @Option(name: .customLong("tls.key-file"), help: "PEM private key of --tls.cert-file.")
    var tlsKey: String?

    func validate() throws {
        guard (tlsCertificate == nil) == (tlsKey == nil) else {
            throw ValidationError("--tls.cert-file and --tls.key-file go together")
        }
        guard tokens > 0 else { throw ValidationError("--tokens must be positive") }
        guard (0...1).contains(errorRate), (0...1).contains(rateLimitRate), errorRate + rateLimitRate <= 1 else {
            throw ValidationError("--error-rate and --rate-limit-rate must be within 0...1 and add up to at most 1")
        }
    }

    /// Adds the `--fault` options to the profiles of their transports (all transports when none is named).
    private func applyFaults(to settings: inout SimulatorSettings) throws {
        for option in faults {
            for transport in option.transport.map({ [$0] }) ?? SimulatedTransport.allCases {
                var profile = settings.profiles[transport] ?? settings.defaultProfile
                profile.faults.append((option.fault, option.rate))
                guard profile.allFaults.reduce(0, { $0 + $1.rate }) <= 1 else {
                    throw ValidationError("--fault: the fault rates of \(transport.rawValue) add up to more than 1")
                }
                settings.profiles[transport] = profile
            }
        }
    }

    func settings() throws -> SimulatorSettings {
        var settings = SimulatorSettings()
        settings.seed = seed
        settings.models = models
        settings.stallLimit = stallLimit.duration
        if let tlsCertificate, let tlsKey {
            settings.tls = TLSFiles(certificateChain: tlsCertificate, privateKey: tlsKey)
        }
        settings.defaultProfile.timeToFirstToken = Delay(mean: ttft.duration, spread: ttftSpread.duration)
        settings.defaultProfile.interTokenDelay = Delay(mean: interToken.duration, spread: interTokenSpread.duration)
        settings.defaultProfile.outputTokens = tokens
        settings.defaultProfile.errorRate = errorRate
        settings.defaultProfile.rateLimitRate = rateLimitRate
        for override in profiles {
            var profile = settings.profiles[override.transport] ?? settings.defaultProfile
            try override.apply(to: &profile)
            settings.profiles[override.transport] = profile
        }
        try applyFaults(to: &settings)
        if let apiKeyEnv {
            guard let key = ProcessInfo.processInfo.environment[apiKeyEnv], !key.isEmpty else {
                throw ValidationError("--api-key-env: environment variable \(apiKeyEnv) is not set or empty")
            }
            settings.apiKey = key
        }
        return settings
    }

    /// One line describing a profile, for banners.
    static func describe(_ profile: LatencyProfile) -> String {
        func d(_ delay: Delay) -> String {
            "\(PrometheusDuration.format(delay.mean)) ±\(PrometheusDuration.format(delay.spread))"
        }
        var text = "ttft \(d(profile.timeToFirstToken)), inter-token \(d(profile.interTokenDelay)), \(profile.outputTokens) tokens"
        if profile.errorRate > 0 { text += ", \(profile.errorRate * 100)% 500s" }
        if profile.rateLimitRate > 0 { text += ", \(profile.rateLimitRate * 100)% 429s" }
        for (fault, rate) in profile.faults { text += ", \(rate * 100)% \(fault.name)" }
        return text
    }
}

/// A duration option written as in Prometheus (`200ms`, `1s`), or a decimal number of milliseconds or
/// seconds (`7.8ms`, `1.5s`).
struct DurationArgument: ExpressibleByArgument {
    var duration: Duration

    init(_ duration: Duration) {
        self.duration = duration
    }

    init?(argument: String) {
        if let duration = PrometheusDuration.parse(argument) {
            self.duration = duration
        } else if argument.hasSuffix("ms"), let millis = Double(argument.dropLast(2)), millis >= 0 {
            self.duration = .nanoseconds(Int64(millis * 1_000_000))
        } else if argument.hasSuffix("s"), let seconds = Double(argument.dropLast()), seconds >= 0 {
            self.duration = .nanoseconds(Int64(seconds * 1_000_000_000))
        } else {
            return nil
        }
    }

    var defaultValueDescription: String { PrometheusDuration.format(duration) }
}

/// `--profile websocket:ttft=100ms,tokens=30`.
struct ProfileOverride: ExpressibleByArgument {
    var transport: SimulatedTransport
    var settings: [(key: String, value: String)]

    init?(argument: String) {
        let parts = argument.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let transport = SimulatedTransport(rawValue: String(parts[0])) else { return nil }
        self.transport = transport
        var settings: [(String, String)] = []
        for pair in parts[1].split(separator: ",") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else { return nil }
            settings.append((String(kv[0]), String(kv[1])))
        }
        self.settings = settings
    }

    func apply(to profile: inout LatencyProfile) throws {
        for (key, value) in settings {
            func duration() throws -> Duration {
                guard let d = DurationArgument(argument: value) else {
                    throw ValidationError("--profile \(transport.rawValue): \(key)=\(value) is not a duration")
                }
                return d.duration
            }
            func fraction() throws -> Double {
                guard let f = Double(value), (0...1).contains(f) else {
                    throw ValidationError("--profile \(transport.rawValue): \(key) must be within 0...1")
                }
                return f
            }
            switch key {
            case "ttft": profile.timeToFirstToken.mean = try duration()
            case "ttft_spread": profile.timeToFirstToken.spread = try duration()
            case "inter_token": profile.interTokenDelay.mean = try duration()
            case "inter_token_spread": profile.interTokenDelay.spread = try duration()
            case "tokens":
                guard let n = Int(value), n > 0 else {
                    throw ValidationError("--profile \(transport.rawValue): tokens must be a positive whole number")
                }
                profile.outputTokens = n
            case "error_rate": profile.errorRate = try fraction()
            case "rate_limit_rate": profile.rateLimitRate = try fraction()
            default: throw ValidationError("--profile \(transport.rawValue): unknown setting '\(key)'")
            }
        }
    }
}

/// `--fault [TRANSPORT:]KIND[@PARAM]=RATE`, e.g. `stall@3=0.1`, `websocket:silent=0.05`, `rate_limit@7=1`.
struct FaultOption: ExpressibleByArgument {
    var transport: SimulatedTransport?
    var fault: SimulatedFault
    var rate: Double

    init?(argument: String) {
        guard let equals = argument.lastIndex(of: "="), let rate = Double(argument[argument.index(after: equals)...]),
              (0...1).contains(rate) else { return nil }
        var spec = Substring(argument[..<equals])
        if let colon = spec.firstIndex(of: ":") {
            guard let transport = SimulatedTransport(rawValue: String(spec[..<colon])) else { return nil }
            self.transport = transport
            spec = spec[spec.index(after: colon)...]
        }
        let parts = spec.split(separator: "@", maxSplits: 1).map(String.init)
        let parameter = parts.count == 2 ? parts[1] : nil
        func count(default value: Int) -> Int? { parameter.map { Int($0) ?? -1 } ?? value }
        switch parts.first {
        case "auth": fault = .auth
        case "rate_limit":
            guard let seconds = count(default: 1), seconds >= 0 else { return nil }
            fault = .rateLimit(retryAfterSeconds: seconds)
        case "server_error": fault = .serverError
        case "stall", "truncate", "malformed", "reset":
            guard let tokens = count(default: 1), tokens >= 0 else { return nil }
            switch parts[0] {
            case "stall": fault = .stall(afterTokens: tokens)
            case "truncate": fault = .truncate(afterTokens: tokens)
            case "malformed": fault = .malformed(afterTokens: tokens)
            default: fault = .reset(afterTokens: tokens)
            }
        case "slow_headers":
            guard let delay = PrometheusDuration.parse(parameter ?? "5s") else { return nil }
            fault = .slowHeaders(delay)
        case "oversize": fault = .oversize
        case "silent": fault = .silent
        default: return nil
        }
        self.rate = rate
    }
}
