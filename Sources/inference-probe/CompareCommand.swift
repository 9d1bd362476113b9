import ArgumentParser
import Foundation
import InferenceProbe
import InferenceSimulator
import Logging
import NIOPosix
import Synchronization

/// `compare`: a one-shot comparison of a target's transports (the table vendors publish, measured on your
/// own path): N probes per transport, optionally a concurrency sweep, then the table.
struct CompareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Probe one target N times per transport (and at several concurrency levels) and print the comparison table.",
        discussion: """
            The target is a configured one (--config.file and --target), any endpoint (--base-url with --api, \
            --target.model and --target.api-key-env), or the built-in simulator (--simulate, shaped by the simulator flags).
            """)

    @Option(name: .customLong("config.file"), help: "Configuration file holding the target.")
    var configFile: String?
    @Option(help: "Name of the configured target to compare.")
    var target: String?
    @Option(name: .customLong("base-url"), help: "Base URL of an endpoint to compare, instead of a configured target.")
    var baseURL: String?
    @Option(help: "API of --base-url: \(APICatalog.names.joined(separator: ", ")).")
    var api = APICatalog.defaultName
    @Option(name: .customLong("target.model"), help: "Model of --base-url.")
    var model = "simulated-model"
    @Option(name: .customLong("target.api-key-env"), help: "Environment variable holding the key of --base-url.")
    var apiKeyEnv: String?
    @Flag(help: "Compare the built-in simulator (started on loopback, shaped by the simulator flags).")
    var simulate = false
    @Option(help: "Transports to compare, comma-separated (default: all the target's).")
    var transports: String?
    @Option(help: "Probes per transport.")
    var probes = 20
    @Option(help: "Concurrency levels of the sweep, comma-separated, e.g. 1,10,100 (default: none).")
    var concurrency: String?
    @Option(help: "Output: table, markdown or json.")
    var format = "table"
    @OptionGroup var simulator: SimulatorOptions

    func validate() throws {
        guard TransportComparison.Format(rawValue: format) != nil else { throw ValidationError("--format: table, markdown or json") }
        guard probes > 0 else { throw ValidationError("--probes must be positive") }
        let sources = [configFile != nil || target != nil, baseURL != nil, simulate].filter { $0 }.count
        guard sources == 1 else { throw ValidationError("give one of --config.file with --target, --base-url, or --simulate") }
        if configFile != nil || target != nil, configFile == nil || target == nil {
            throw ValidationError("--config.file and --target go together")
        }
        guard try levels().allSatisfy({ (1...1000).contains($0) }) else {
            throw ValidationError("--concurrency: whole numbers from 1 to 1000")
        }
    }

    private func levels() throws -> [Int] {
        guard let concurrency else { return [] }
        let levels = concurrency.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard levels.allSatisfy({ $0 != nil }) else { throw ValidationError("--concurrency: e.g. 1,10,100") }
        return levels.compactMap { $0 }
    }

    func run() async throws {
        let logger = Logger(label: "inference-probe", factory: { _ in SwiftLogNoOpLogHandler() })
        guard simulate else {
            try await compare(try configuredTarget())
            return
        }
        let settings = try simulator.settings()
        try await Simulator(settings: settings).whileRunning(logger: logger) { port in
            let base = BaseURL(secure: false, host: "127.0.0.1", port: port, path: "/v1")
            let dialect = APICatalog.dialect(named: api) ?? ChatCompletionsDialect.self
            try await compare(TargetConfig(name: "simulator", baseURL: base, model: settings.models[0],
                                           api: dialect.name, transports: dialect.transports,
                                           apiKeyPlacement: dialect.defaultKeyPlacement))
        }
    }

    private func configuredTarget() throws -> TargetConfig {
        if let configFile, let name = target {
            let config = try ConfigLoader.load(file: configFile)
            guard let target = config.targets.first(where: { $0.name == name }) else {
                throw ValidationError("no target '\(name)' in \(configFile) (it has: \(config.targets.map(\.name).joined(separator: ", ")))")
            }
            return target
        }
        guard let baseURL, case .success(let url) = BaseURL.parse(baseURL) else { throw ValidationError("--base-url: not a URL") }
        guard let dialect = APICatalog.dialect(named: api) else { throw ValidationError("--api: one of \(APICatalog.names)") }
        var key: Secret?
        if let apiKeyEnv {
            guard case .success(let secret) = Secret.resolve(.environment(apiKeyEnv), environment: ProcessInfo.processInfo.environment) else {
                throw ValidationError("--target.api-key-env: \(apiKeyEnv) is not set")
            }
            key = secret
        }
        return TargetConfig(name: url.host, baseURL: url, model: model, api: dialect.name, transports: dialect.transports,
                            apiKey: key, apiKeyPlacement: dialect.defaultKeyPlacement)
    }

    private func compare(_ target: TargetConfig) async throws {
        let chosen = transports.map { $0.split(separator: ",").map(String.init) } ?? target.transports
        let unknown = chosen.filter { !target.transports.contains($0) }
        guard unknown.isEmpty else { throw ValidationError("the target has no transport \(unknown.joined(separator: ", "))") }
        let levels = try levels()
        let rounds = levels.map { max(1, probes / $0) }
        let total = chosen.count * (probes + zip(levels, rounds).reduce(0) { $0 + $1.0 * $1.1 })
        let progress = ProgressBar(total: total)
        var results: [(String, [ProbeResult])] = []
        var sweep: [(String, Int, [ProbeResult])] = []
        for transport in chosen {
            let prober = try makeProber(transport, target)
            var series: [ProbeResult] = []
            for _ in 0..<probes {
                series.append(await prober.probe())
                progress.advance(transport)
            }
            await prober.shutdown()
            results.append((transport, series))
            for (level, count) in zip(levels, rounds) {
                let probers = try (0..<level).map { _ in try makeProber(transport, target) }
                var levelResults: [ProbeResult] = []
                for _ in 0..<count {
                    levelResults += await withTaskGroup(of: ProbeResult.self) { group in
                        for prober in probers { group.addTask { await prober.probe() } }
                        var round: [ProbeResult] = []
                        for await result in group {
                            round.append(result)
                            progress.advance("\(transport) ×\(level)")
                        }
                        return round
                    }
                }
                for prober in probers { await prober.shutdown() }
                sweep.append((transport, level, levelResults))
            }
        }
        progress.finish()
        let comparison = TransportComparison(target: target, results: results, concurrency: sweep)
        FileHandle.standardOutput.write(Data(comparison.render(TransportComparison.Format(rawValue: format) ?? .table).utf8))
    }

    private func makeProber(_ transport: String, _ target: TargetConfig) throws -> any TransportProber {
        guard let type = TransportCatalog.prober(named: transport) else { throw ValidationError("unknown transport \(transport)") }
        return try type.init(target: target, group: MultiThreadedEventLoopGroup.singleton)
    }
}

/// A progress bar on standard error (the table goes to standard output).
final class ProgressBar: Sendable {
    private let total: Int
    private let done = Atomic<Int>(0)

    init(total: Int) {
        self.total = total
    }

    func advance(_ what: String) {
        let count = done.add(1, ordering: .relaxed).newValue
        let width = 30
        let filled = total > 0 ? width * count / total : width
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(count)/\(total) \(what)\u{1B}[K".utf8))
    }

    func finish() {
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
