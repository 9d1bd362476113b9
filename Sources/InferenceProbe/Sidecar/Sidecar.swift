import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The whole sidecar, wired in the direction the data flows: config -> scheduler -> probers -> results
/// -> metrics and status board -> HTTP endpoint. Run its `services` in a `ServiceGroup`.
public struct Sidecar: Sendable {
    public let metrics: ProbeMetrics
    public let board: ProbeStatusBoard
    let scheduler: ProbeScheduler
    let endpoint: any Service

    /// Builds every prober up front: an unusable target fails here, before anything is served.
    public init(
        config: ProbeConfig, listen: ListenAddress, logger: Logger,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws {
        let metrics = ProbeMetrics()
        let board = ProbeStatusBoard(keys: config.seriesKeys)
        for key in config.seriesKeys { metrics.register(key) }
        self.scheduler = try ProbeScheduler(config: config, group: group, logger: logger) { result in
            metrics.record(result)
            board.record(result)
        }
        self.metrics = metrics
        self.board = board
        self.endpoint = MetricsEndpoint.application(
            address: listen, metrics: metrics, board: board, logger: logger, onListening: onListening)
    }

    /// The scheduler and the endpoint; the scheduler marks the board running while it probes.
    public var services: [any Service] {
        [ScheduledProbing(scheduler: scheduler, board: board), endpoint]
    }
}

/// Runs the scheduler and keeps `/-/ready` true only while it runs (false again while draining).
struct ScheduledProbing: Service {
    let scheduler: ProbeScheduler
    let board: ProbeStatusBoard

    func run() async throws {
        board.setRunning(true)
        defer { board.setRunning(false) }
        try await withGracefulShutdownHandler {
            try await scheduler.run()
        } onGracefulShutdown: {
            board.setRunning(false)
        }
    }
}
