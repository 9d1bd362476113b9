import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// What the scheduler reports: a finished probe, or a due probe it did not send.
public enum ProbeEvent: Sendable {
    case finished(ProbeResult)
    case skipped(SeriesKey, SkipReason)
}

/// Probes every target x transport on its own interval, each pair in its own task so that a slow or
/// stalled target never delays another. Before each probe it asks the target's gate (rate-limit backoff,
/// daily budget) and skips it if the gate is closed. On graceful shutdown (SIGTERM) it stops starting
/// probes, lets the ones in flight finish (each bounded by its timeout) and returns.
public struct ProbeScheduler: Service, CustomStringConvertible {
    /// A prober and the schedule it runs on.
    struct Job: Sendable {
        var key: SeriesKey
        var prober: any TransportProber
        var interval: Duration
        var gate: TargetGate
        /// The event loop of the prober's connections, where the probing task runs.
        var executor: EventLoopTaskExecutor
    }

    let jobs: [Job]
    let sink: @Sendable (ProbeEvent) -> Void
    let logger: Logger

    /// Builds one prober per target x transport; throws if a target cannot be probed (e.g. a bad CA file).
    /// `sink` receives every result, in the probing task, as soon as the probe ends, and every skip.
    public init(
        config: ProbeConfig, group: any EventLoopGroup, logger: Logger, gates: TargetGates = TargetGates(),
        sink: @escaping @Sendable (ProbeEvent) -> Void
    ) throws {
        var jobs: [Job] = []
        gates.keep(only: Set(config.targets.map(\.name)))
        // The series are dealt out over the group's loops; each keeps its loop.
        let executors = group.makeIterator().map(EventLoopTaskExecutor.init)
        for target in config.targets {
            let gate = gates.gate(for: target)
            for transport in target.transports {
                guard let type = TransportCatalog.prober(named: transport) else { continue }
                let executor = executors[jobs.count % executors.count]
                do {
                    jobs.append(Job(key: target.seriesKey(transport: transport),
                                    prober: try type.init(target: target, group: executor.loop), interval: target.interval,
                                    gate: gate, executor: executor))
                } catch {
                    throw SchedulerError(description: "target \(target.name), transport \(transport): \(error)")
                }
            }
        }
        self.jobs = jobs
        self.sink = sink
        self.logger = logger
    }

    /// What service-lifecycle logs for this service: the series it probes, nothing of their credentials.
    public var description: String {
        "ProbeScheduler(\(jobs.map { "\($0.key)" }.joined(separator: ", ")))"
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for job in jobs {
                let spread = Self.firstRoundSpread(interval: job.interval, jobs: jobs.count)
                group.addTask(executorPreference: job.executor) { await self.loop(job, firstWithin: spread) }
            }
        }
    }

    /// Series whose first probes may start together (within a tenth of the interval).
    static let firstRoundBurst = 50
    /// Probes started per second, beyond the burst, while a fleet's first round is spread out.
    static let firstRoundRate = 20.0

    /// How long the first probes are spread over, so that targets do not fire together: a tenth of the
    /// interval (at most 2 s) for a few targets; for a fleet, long enough that the series beyond the first
    /// `firstRoundBurst` start at `firstRoundRate` a second, up to the whole interval (the steady rate).
    /// 3,000 series at 30 s start 100 a second rather than 3,000 in 2 s, which would measure the sidecar's
    /// own burst.
    static func firstRoundSpread(interval: Duration, jobs: Int) -> Duration {
        let quick = min(interval / 10, .seconds(2))
        let paced = Duration.seconds(Double(max(0, jobs - firstRoundBurst)) / firstRoundRate)
        return min(interval, max(quick, paced))
    }

    private func loop(_ job: Job, firstWithin spread: Duration) async {
        var next = ContinuousClock.now + spread * Double.random(in: 0..<1)
        while !Task.isShuttingDownGracefully {
            let wakeUp = next
            guard (try? await cancelWhenGracefulShutdown({ try await job.executor.sleep(until: wakeUp) })) != nil
            else { break }
            let started = ContinuousClock.now
            switch job.gate.admit() {
            case .probe:
                var result = await job.prober.probe()
                result.scheduleLateness = wakeUp.duration(to: started).seconds
                let changes = job.gate.finished(result)
                sink(.finished(result))
                log(result)
                for change in changes { log(change, of: job.key) }
            case .skip(let reason):
                sink(.skipped(job.key, reason))
            }
            // Fixed rate with ±5% jitter; a probe longer than its interval is followed at once.
            next = max(started + job.interval * Double.random(in: 0.95...1.05), .now)
        }
        await job.prober.shutdown()
    }

    private func log(_ change: TargetGate.Change, of key: SeriesKey) {
        let metadata: Logger.Metadata = ["target": "\(key.target)", "model": "\(key.model)", "api": "\(key.api)"]
        switch change {
        case .pausedForRateLimit(let pause):
            logger.warning("rate limited: pausing every probe of the target",
                           metadata: metadata.merging(["pause": "\(String(format: "%.1f", pause.seconds))s"]) { $1 })
        case .budgetExhausted(let spent):
            logger.warning("daily budget spent: pausing the target until midnight UTC",
                           metadata: metadata.merging(["spent_dollars": "\(String(format: "%.4f", spent))"]) { $1 })
        }
    }

    private func log(_ result: ProbeResult) {
        var metadata: Logger.Metadata = [
            "target": "\(result.key.target)", "model": "\(result.key.model)",
            "api": "\(result.key.api)", "transport": "\(result.key.transport)", "outcome": "\(result.outcome.rawValue)",
        ]
        if result.outcome == .success {
            logger.debug("probe succeeded", metadata: metadata)
        } else {
            metadata["detail"] = "\(result.detail ?? "")"
            logger.warning("probe failed", metadata: metadata)
        }
    }
}

/// A target that cannot be probed at all with its settings.
public struct SchedulerError: Error, CustomStringConvertible {
    public var description: String
}
