import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The whole sidecar, wired in the direction the data flows: config -> scheduler -> probers -> results
/// -> metrics and status board -> HTTP endpoint. Run its `services` in a `ServiceGroup`.
public struct Sidecar: Sendable {
    public let metrics: ProbeMetrics
    public let board: ProbeStatusBoard
    public let statistics: WindowedStatistics
    let probing: ProbingService
    let endpoint: any Service
    /// The config file watcher and the OTLP exporter, when enabled.
    let others: [any Service]

    /// Builds every prober up front: an unusable target fails here, before anything is served.
    public init(
        config: ProbeConfig, options: SidecarOptions, logger: Logger,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws {
        AllocatorTuning.returnLargeBuffersToTheSystem()
        ProcessTimeZone.nameUTCAsGMT()
        let gates = TargetGates()
        let statistics = WindowedStatistics(windows: config.windows)
        let metrics = ProbeMetrics(gates: gates, statistics: statistics, histograms: config.histograms,
                                   windowGauges: config.windowGauges, outcomeCounters: config.outcomeCounters)
        let board = ProbeStatusBoard(keys: config.seriesKeys)
        let otlp = try options.otlp.map { try OTLPExport(settings: $0, targets: config.targets, logger: logger) }
        for key in config.seriesKeys { metrics.register(key) }
        let sink: @Sendable (ProbeEvent) -> Void = { event in
            switch event {
            case .finished(let result):
                let measurement = ProbeMeasurement(result)
                metrics.record(result, measurement)
                board.record(result, measurement)
                statistics.record(result, measurement)
                otlp?.record(result, measurement)
            case .skipped(let key, let reason):
                metrics.recordSkip(key, reason)
                board.recordSkip(key, reason)
            }
        }
        let scheduler = try ProbeScheduler(config: config, group: group, logger: logger, gates: gates, sink: sink)
        let onDemand = OnDemandProber(config: config, gates: gates, group: group, limits: options.onDemand)
        let requests = ReloadRequests()
        self.metrics = metrics
        self.board = board
        self.statistics = statistics
        self.probing = ProbingService(
            initial: scheduler, keys: config.seriesKeys, metrics: metrics, board: board, statistics: statistics, logger: logger,
            reload: options.reload.map { load in
                { @Sendable in
                    let config = try load()
                    let scheduler = try ProbeScheduler(config: config, group: group, logger: logger, gates: gates, sink: sink)
                    onDemand.update(config)
                    otlp?.update(config.targets)
                    return (scheduler, config.seriesKeys)
                }
            },
            requests: requests)
        self.endpoint = MetricsEndpoint.application(
            options: options, metrics: metrics, board: board, statistics: statistics, onDemand: onDemand,
            reloads: requests, logger: logger, onListening: onListening)
        var others: [any Service] = []
        if let file = options.watchedFile, options.reload != nil, options.watchInterval > .zero {
            others.append(ConfigFileWatcher(path: file, interval: options.watchInterval, requests: requests, logger: logger))
        }
        if let otlp { others.append(otlp.service) }
        self.others = others
    }

    /// The probing (scheduler and reloads), the HTTP endpoint, and the optional watcher and exporter.
    public var services: [any Service] {
        [probing, endpoint] + others
    }
}
