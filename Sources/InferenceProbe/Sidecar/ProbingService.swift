import Logging
import ServiceLifecycle
import UnixSignals

/// Runs the scheduler, keeps `/-/ready` true while it probes, and on SIGHUP swaps in a scheduler built
/// from the re-read configuration. A configuration that does not load is logged and ignored: the running
/// one goes on. The old scheduler finishes its in-flight probes before the new one starts, and the series
/// of targets that are gone are removed from the metrics.
struct ProbingService: Service, CustomStringConvertible {
    typealias Reload = @Sendable () throws -> (ProbeScheduler, [SeriesKey])

    let initial: ProbeScheduler
    let keys: [SeriesKey]
    let metrics: ProbeMetrics
    let board: ProbeStatusBoard
    let statistics: WindowedStatistics
    let logger: Logger
    let reload: Reload?

    private enum Step: Sendable {
        case stopped
        case replace(ProbeScheduler, [SeriesKey])
    }

    var description: String { "ProbingService(\(initial))" }

    func run() async throws {
        board.setRunning(true)
        defer { board.setRunning(false) }
        try await withGracefulShutdownHandler {
            var scheduler = initial
            var keys = self.keys
            while true {
                let step = await withTaskGroup(of: Step.self) { group in
                    group.addTask { [scheduler] in
                        try? await scheduler.run()
                        return .stopped
                    }
                    if let reload { group.addTask { await nextConfiguration(reload) } }
                    let first = await group.next() ?? .stopped
                    group.cancelAll()  // stops the other: the scheduler after its in-flight probes
                    for await _ in group {}
                    return first
                }
                guard case .replace(let next, let nextKeys) = step else { return }
                metrics.replace(keys, with: nextKeys) { statistics.keep(only: Set(nextKeys)) }
                board.setKeys(nextKeys)
                logger.info("configuration reloaded", metadata: ["series": "\(nextKeys.count)"])
                (scheduler, keys) = (next, nextKeys)
            }
        } onGracefulShutdown: {
            board.setRunning(false)
        }
    }

    /// Waits for a SIGHUP whose configuration loads; `.stopped` when cancelled or shutting down.
    private func nextConfiguration(_ reload: Reload) async -> Step {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            logger.info("SIGHUP: reloading the configuration")
            do {
                let (scheduler, keys) = try reload()
                return .replace(scheduler, keys)
            } catch {
                logger.error("reload failed, the running configuration stays in force", metadata: ["error": "\(error)"])
            }
        }
        return .stopped
    }
}
