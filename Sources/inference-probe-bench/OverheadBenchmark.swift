import Foundation
import InferenceProbe
import InferenceSimulator
import Logging
import NIOPosix

/// Measures the prober's own overhead against known injected delays: the simulator (in this process,
/// on loopback) waits exactly `--ttft` before the first token and `--inter-token` between tokens; every
/// figure printed is what the prober measured minus what was injected, so it bounds the overhead of the
/// prober, the simulator and the loopback path together.
///
///     swift run -c release inference-probe-bench overhead [--probes 200] [--ttft 100] [--inter-token 10] [--tokens 20]
///
/// With `--base-url URL` it probes a simulator started separately (`inference-probe simulate` with the same
/// delays and no spread), so that the CPU figure is the prober's alone.
enum OverheadBenchmark {
    struct Options {
        var probes = 200
        var ttftMilliseconds = 100
        var interTokenMilliseconds = 10
        var tokens = 20
        var baseURL: BaseURL?

        init(_ arguments: [String]) {
            var iterator = arguments.makeIterator()
            while let flag = iterator.next() {
                if flag == "--base-url", let text = iterator.next() {
                    guard case .success(let url) = BaseURL.parse(text) else { fatalError("--base-url: invalid URL") }
                    baseURL = url
                    continue
                }
                guard let value = iterator.next().flatMap(Int.init) else { fatalError("usage: \(flag) needs a number") }
                switch flag {
                case "--probes": probes = value
                case "--ttft": ttftMilliseconds = value
                case "--inter-token": interTokenMilliseconds = value
                case "--tokens": tokens = value
                default: fatalError("unknown option \(flag)")
                }
            }
        }
    }

    static func run(_ arguments: [String]) async throws {
        let options = Options(arguments)
        let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        var settings = SimulatorSettings()
        settings.defaultProfile.timeToFirstToken = Delay(mean: .milliseconds(options.ttftMilliseconds))
        settings.defaultProfile.interTokenDelay = Delay(mean: .milliseconds(options.interTokenMilliseconds))
        settings.defaultProfile.outputTokens = options.tokens

        if let external = options.baseURL {
            printHeader(options, simulator: "the simulator at \(external)")
            for (api, transport) in pairs {
                try await measure(api: api, transport, baseURL: external, options: options)
            }
            return
        }
        try await Simulator(settings: settings).whileRunning(logger: logger) { port in
            printHeader(options, simulator: "the simulator in this process (CPU: prober + simulator)")
            let baseURL = BaseURL(secure: false, host: "127.0.0.1", port: port, path: "/v1")
            for (api, transport) in pairs {
                try await measure(api: api, transport, baseURL: baseURL, options: options)
            }
        }
    }

    /// Every API x transport pair, in catalog order.
    static var pairs: [(api: any APIDialect.Type, transport: String)] {
        APICatalog.all.flatMap { api in api.transports.map { (api, $0) } }
    }

    static func printHeader(_ options: Options, simulator: String) {
        print("""
            inference-probe \(BuildInfo.version) probe overhead: \(options.probes) probes per transport against \(simulator);
            injected TTFT \(options.ttftMilliseconds) ms, inter-token \(options.interTokenMilliseconds) ms, \(options.tokens) tokens.
            Figures are measured minus injected, in milliseconds (p50 / p95 / max); cpu_ms is this process's CPU per probe.

            api/transport                ttft_over            duration_over        itl_over(mean)     conn_setup_p50  cpu_ms/probe  failures
            """)
    }

    static func measure(api: any APIDialect.Type, _ transport: String, baseURL: BaseURL, options: Options) async throws {
        var defaults = ProbeDefaults()
        defaults.timeout = .seconds(30)
        defaults.maxTokens = options.tokens
        let target = TargetConfig(
            name: "bench", baseURL: baseURL, model: "simulated-model", api: api.name, transports: [transport],
            apiKeyPlacement: api.defaultKeyPlacement, defaults: defaults)
        guard let type = TransportCatalog.prober(named: transport) else { return }
        let prober = try type.init(target: target, group: MultiThreadedEventLoopGroup.singleton)
        for _ in 0..<3 { _ = await prober.probe() }  // warm-up: connections, caches

        let injectedTTFT = Double(options.ttftMilliseconds) / 1000
        let injectedGap = Double(options.interTokenMilliseconds) / 1000
        let injectedTotal = injectedTTFT + injectedGap * Double(options.tokens - 1)
        var ttft: [Double] = [], duration: [Double] = [], gaps: [Double] = [], setup: [Double] = []
        var failures = 0
        let cpuBefore = ProcessFigures.cpuSeconds()
        for _ in 0..<options.probes {
            let result = await prober.probe()
            guard result.outcome == .success else {
                failures += 1
                continue
            }
            let m = ProbeMeasurement(result)
            if let value = m.timeToFirstToken { ttft.append((value - injectedTTFT) * 1000) }
            if let value = m.duration { duration.append((value - injectedTotal) * 1000) }
            if !m.interTokenLatencies.isEmpty {
                gaps.append((m.interTokenLatencies.reduce(0, +) / Double(m.interTokenLatencies.count) - injectedGap) * 1000)
            }
            if let value = m.connectionSetup { setup.append(value * 1000) }
        }
        let cpuPerProbe = (ProcessFigures.cpuSeconds() - cpuBefore) * 1000 / Double(options.probes)
        await prober.shutdown()
        func triple(_ values: [Double]) -> String {
            guard !values.isEmpty else { return "-" }
            let sorted = values.sorted()
            func at(_ q: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))] }
            return String(format: "%.2f / %.2f / %.2f", at(0.5), at(0.95), sorted.last!)
        }
        func median(_ values: [Double]) -> String {
            values.isEmpty ? "-" : String(format: "%.3f", values.sorted()[values.count / 2])
        }
        let line = [
            "\(api.name)/\(transport)".padding(toLength: 28, withPad: " ", startingAt: 0),
            triple(ttft).padding(toLength: 20, withPad: " ", startingAt: 0),
            triple(duration).padding(toLength: 20, withPad: " ", startingAt: 0),
            (gaps.isEmpty ? "-" : String(format: "%.3f", gaps.reduce(0, +) / Double(gaps.count)))
                .padding(toLength: 18, withPad: " ", startingAt: 0),
            median(setup).padding(toLength: 15, withPad: " ", startingAt: 0),
            String(format: "%.2f", cpuPerProbe).padding(toLength: 13, withPad: " ", startingAt: 0),
            String(failures),
        ].joined(separator: " ")
        print(line)
    }
}
