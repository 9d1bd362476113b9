import Foundation
import InferenceProbe
import NIOPosix

/// Probes a simulator running as its own process as fast as it answers, over every API x transport at once,
/// and prints this process's resident memory and open descriptors every `--every` probes: memory that
/// grows with the number of probes shows up as a rising RSS column.
///
///     swift run -c release inference-probe-bench memory [--probes 100000] [--concurrency 2] [--every 10000] [--faults mixed]
///
/// The simulator is the `inference-probe` binary next to this one (`simulate`, no delays, 5 tokens), or the
/// one at `--base-url URL`. `--faults mixed` has it inject every fault it knows into about a fifth of the
/// answers (the soak run); the probers then use short stage timeouts. Every result goes through the
/// sidecar's own sink (figures, metrics, status board); the outcomes are counted and printed at the end.
enum MemoryBenchmark {
    struct Options {
        var probes = 100_000
        var concurrency = 2
        var every = 10_000
        var baseURL: BaseURL?
        var mixedFaults = false

        init(_ arguments: [String]) {
            var iterator = arguments.makeIterator()
            while let flag = iterator.next() {
                guard let value = iterator.next() else { fatalError("\(flag) needs a value") }
                switch flag {
                case "--base-url":
                    guard case .success(let url) = BaseURL.parse(value) else { fatalError("--base-url: invalid URL") }
                    baseURL = url
                case "--probes": probes = Int(value) ?? probes
                case "--concurrency": concurrency = Int(value) ?? concurrency
                case "--every": every = Int(value) ?? every
                case "--faults":
                    guard value == "mixed" else { fatalError("--faults: only 'mixed' is known") }
                    mixedFaults = true
                default: fatalError("unknown option \(flag)")
                }
            }
        }
    }

    static func run(_ arguments: [String]) async throws {
        let options = Options(arguments)
        let simulator = options.baseURL == nil
            ? try SimulatorProcess.start(arguments: SimulatorProcess.noDelays + (options.mixedFaults ? mixedFaults : [])) : nil
        defer { simulator?.stop() }
        guard let baseURL = options.baseURL ?? simulator?.baseURL else { return }

        var defaults = ProbeDefaults()
        defaults.timeout = .seconds(10)
        defaults.maxTokens = 5
        if options.mixedFaults {
            (defaults.timeout, defaults.firstTokenTimeout, defaults.stallTimeout) = (.seconds(2), .milliseconds(300), .milliseconds(200))
        }
        let targets = APICatalog.all.map { api in
            TargetConfig(name: "bench", baseURL: baseURL, model: "simulated-model", api: api.name,
                         transports: api.transports, apiKeyPlacement: api.defaultKeyPlacement, defaults: defaults)
        }
        AllocatorTuning.returnLargeBuffersToTheSystem()  // as the sidecar does
        let metrics = ProbeMetrics()
        let board = ProbeStatusBoard(keys: ProbeConfig(targets: targets).seriesKeys)
        let counter = ProbeCounter(limit: options.probes, every: options.every)

        let header = """
            inference-probe \(BuildInfo.version) memory: \(options.probes) probes over \(board.snapshot().count) API x transport pairs, \
            \(options.concurrency) concurrent per pair, against \(baseURL)\(options.mixedFaults ? " injecting mixed faults" : "")
            probes     elapsed_s  probes/s  rss_mb   fds  failures

            """
        FileHandle.standardOutput.write(Data(header.utf8))
        counter.report(ProcessFigures.residentMegabytes(), ProcessFigures.openDescriptors())
        let jobs = targets.flatMap { target in target.transports.map { (target, $0) } }
        await withTaskGroup(of: Void.self) { group in
            for (target, transport) in jobs {
                for _ in 0..<options.concurrency {
                    guard let type = TransportCatalog.prober(named: transport),
                          let prober = try? type.init(target: target, group: MultiThreadedEventLoopGroup.singleton)
                    else { continue }
                    group.addTask {
                        while counter.claim() {
                            let result = await prober.probe()
                            let measurement = ProbeMeasurement(result)
                            metrics.record(result, measurement)
                            board.record(result, measurement)
                            counter.finished(result.outcome)
                        }
                        await prober.shutdown()
                    }
                }
            }
        }
        counter.summary()
    }

    /// Every simulator fault, together in about 20% of the answers.
    static let mixedFaults = [
        "auth=0.01", "rate_limit@0=0.02", "server_error=0.02", "stall@2=0.01", "truncate@2=0.02", "reset@1=0.02",
        "slow_headers@50ms=0.02", "oversize=0.005", "malformed@1=0.02", "websocket:silent=0.005",
    ].flatMap { ["--fault", $0] } + ["--stall-limit", "5s"]
}
