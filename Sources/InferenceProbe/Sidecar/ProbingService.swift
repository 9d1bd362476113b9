import Logging
import ServiceLifecycle
import UnixSignals

/// Runs the scheduler, keeps `/-/ready` true while it probes, and serves reload requests (SIGHUP,
/// `POST /-/reload`, a changed file) one at a time by swapping in a scheduler built from the re-read
/// configuration. A configuration that does not load is logged, shown by the reload gauges and refused:
/// the running one goes on. The old scheduler finishes its in-flight probes before the new one starts,
/// the series of targets that are gone are removed, and those of unchanged targets keep their values.
struct ProbingService: Service, CustomStringConvertible {
    typealias Reload = @Sendable () throws -> (ProbeScheduler, [SeriesKey])

    let initial: ProbeScheduler
    let keys: [SeriesKey]
    let metrics: ProbeMetrics
    let board: ProbeStatusBoard
    let statistics: WindowedStatistics
    let logger: Logger
    let reload: Reload?
    let requests: ReloadRequests

    var description: String { "ProbingService(\(initial))" }

    func run() async throws {
        board.setRunning(true)
        defer { board.setRunning(false) }
        await withDiscardingTaskGroup { signals in
            if reload != nil {
                signals.addTask {
                    for await _ in await UnixSignalsSequence(trapping: .sighup) { requests.submit(origin: "SIGHUP") }
                }
            }
            await withGracefulShutdownHandler {
                await serve()
            } onGracefulShutdown: {
                board.setRunning(false)
                requests.finish()
            }
            signals.cancelAll()
        }
    }

    /// Runs one scheduler after the other until shutdown.
    private func serve() async {
        await withTaskGroup(of: Void.self) { group in
            var stop = run(initial, in: &group)
            var keys = self.keys
            for await request in requests.stream {
                guard let reload else {
                    request.reply?(.failure(ReloadFailure(description: "this sidecar was started without a configuration file")))
                    continue
                }
                logger.info("reloading the configuration", metadata: ["origin": "\(request.origin)"])
                let next: ProbeScheduler, nextKeys: [SeriesKey]
                do {
                    (next, nextKeys) = try reload()
                } catch {
                    metrics.recordConfigLoad(succeeded: false)
                    logger.error("reload failed, the running configuration stays in force", metadata: ["error": "\(error)"])
                    request.reply?(.failure(ReloadFailure(description: "\(error)")))
                    continue
                }
                stop.finish()  // the old scheduler ends after its in-flight probes
                await group.next()
                metrics.replace(keys, with: nextKeys) { statistics.keep(only: Set(nextKeys)) }
                metrics.recordConfigLoad(succeeded: true)
                board.setKeys(nextKeys)
                keys = nextKeys
                stop = run(next, in: &group)
                logger.info("configuration reloaded", metadata: ["series": "\(nextKeys.count)"])
                request.reply?(.success(()))
            }
            // Shutting down: the running scheduler drains its in-flight probes and returns by itself.
        }
    }

    /// Starts `scheduler` as the group's one child; finishing the returned continuation stops it.
    private func run(_ scheduler: ProbeScheduler, in group: inout TaskGroup<Void>) -> AsyncStream<Void>.Continuation {
        let (stopped, stop) = AsyncStream.makeStream(of: Void.self)
        group.addTask {
            await withTaskGroup(of: Void.self) { generation in
                generation.addTask { try? await scheduler.run() }
                generation.addTask { for await _ in stopped {} }
                await generation.next()
                generation.cancelAll()
            }
        }
        return stop
    }
}
