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

    /// Builds every prober up front: an unusable target fails here, before anything is served.
    /// With `reload`, SIGHUP re-reads the configuration through it (see `ProbingService`).
    public init(
        config: ProbeConfig, listen: ListenAddress, logger: Logger,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        reload: (@Sendable () throws -> ProbeConfig)? = nil,
        limits: EndpointLimits = EndpointLimits(),
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws {
        AllocatorTuning.returnLargeBuffersToTheSystem()
        let gates = TargetGates()
        let statistics = WindowedStatistics(windows: config.windows)
        let metrics = ProbeMetrics(gates: gates, statistics: statistics)
        let board = ProbeStatusBoard(keys: config.seriesKeys)
        for key in config.seriesKeys { metrics.register(key) }
        let sink: @Sendable (ProbeEvent) -> Void = { event in
            switch event {
            case .finished(let result):
                let measurement = ProbeMeasurement(result)
                metrics.record(result, measurement)
                board.record(result, measurement)
                statistics.record(result, measurement)
            case .skipped(let key, let reason):
                metrics.recordSkip(key, reason)
                board.recordSkip(key, reason)
            }
        }
        let scheduler = try ProbeScheduler(config: config, group: group, logger: logger, gates: gates, sink: sink)
        self.metrics = metrics
        self.board = board
        self.statistics = statistics
        self.probing = ProbingService(
            initial: scheduler, keys: config.seriesKeys, metrics: metrics, board: board, statistics: statistics, logger: logger,
            reload: reload.map { load in
                { @Sendable in
                    let config = try load()
                    let scheduler = try ProbeScheduler(config: config, group: group, logger: logger, gates: gates, sink: sink)
                    return (scheduler, config.seriesKeys)
                }
            })
        self.endpoint = MetricsEndpoint.application(
            address: listen, metrics: metrics, board: board, statistics: statistics, logger: logger, limits: limits, onListening: onListening)
    }

    /// The probing (scheduler and reloads) and the HTTP endpoint.
    public var services: [any Service] {
        [probing, endpoint]
    }
}
