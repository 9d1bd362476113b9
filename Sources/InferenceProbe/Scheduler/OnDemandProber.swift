import NIOConcurrencyHelpers
import NIOCore

/// Runs the probes of `/probe?target=NAME`, blackbox_exporter style: one probe per selected transport of a
/// configured target, now, bounded by the scrape's timeout. Only names from the configuration are accepted,
/// never an address, so the endpoint cannot be turned against other hosts. The target's gate (rate-limit
/// backoff, daily budget) applies as it does to scheduled probes; the results feed no scheduled series.
public final class OnDemandProber: Sendable {
    /// How `/probe` may be used.
    public struct Limits: Sendable, Equatable {
        /// Subtracted from the scraper's `X-Prometheus-Scrape-Timeout-Seconds` to leave time for the answer.
        public var timeoutOffset: Duration = .milliseconds(500)
        /// `/probe` requests served at once; more are refused with 503.
        public var maxConcurrent = 10
        public init() {}
    }

    /// One selected transport's probe: its result, or why it was not sent.
    public enum Report: Sendable {
        case probed(ProbeResult)
        case skipped(SeriesKey, SkipReason)

        public var key: SeriesKey {
            switch self {
            case .probed(let result): result.key
            case .skipped(let key, _): key
            }
        }
    }

    /// A request `/probe` answers with 400 (or 503), and the reason.
    public struct Refusal: Error, CustomStringConvertible {
        public var description: String
        public var overloaded = false
    }

    private let config: NIOLockedValueBox<ProbeConfig>
    private let gates: TargetGates
    private let group: any EventLoopGroup
    private let limits: Limits
    private let running = NIOLockedValueBox(0)

    init(config: ProbeConfig, gates: TargetGates, group: any EventLoopGroup, limits: Limits) {
        self.config = NIOLockedValueBox(config)
        self.gates = gates
        self.group = group
        self.limits = limits
    }

    /// Serves the targets of a reloaded configuration from now on.
    func update(_ config: ProbeConfig) {
        self.config.withLockedValue { $0 = config }
    }

    /// Probes target `name` over `transport` (or all its transports) now. `api`, if given, must be the
    /// target's. `scrapeTimeout` is the scraper's own timeout in seconds.
    public func probe(
        target name: String?, transport: String?, api: String?, scrapeTimeout: Double?
    ) async throws(Refusal) -> [Report] {
        let target = try select(name: name, api: api, scrapeTimeout: scrapeTimeout)
        let transports = try select(transport: transport, of: target)
        let admitted = running.withLockedValue { count in
            guard count < limits.maxConcurrent else { return false }
            count += 1
            return true
        }
        guard admitted else {
            throw Refusal(description: "too many /probe requests at once (--probe.max-concurrent \(limits.maxConcurrent))",
                          overloaded: true)
        }
        defer { running.withLockedValue { $0 -= 1 } }
        let gate = gates.gate(for: target)
        return await withTaskGroup(of: (Int, Report).self) { group in
            for (index, transport) in transports.enumerated() {
                // On the loop of the prober's connection, as the scheduler's probes run (see `EventLoopTaskExecutor`).
                let executor = EventLoopTaskExecutor(self.group.next())
                group.addTask(executorPreference: executor) {
                    (index, await self.probe(target, over: transport, on: executor.loop, gate: gate))
                }
            }
            var reports: [(Int, Report)] = []
            for await report in group { reports.append(report) }
            return reports.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    private func probe(_ target: TargetConfig, over transport: any TransportProber.Type, on loop: any EventLoop,
                       gate: TargetGate) async -> Report {
        let key = target.seriesKey(transport: transport.name)
        if case .skip(let reason) = gate.admit() { return .skipped(key, reason) }
        let prober: any TransportProber
        do {
            prober = try transport.init(target: target, group: loop)
        } catch {
            var result = ProbeResult(key: key, timeline: ProbeTimeline(started: .now), streamed: false)
            result.record(ProbeFailure(.connectError, "cannot probe: \(error)"))
            return .probed(result)
        }
        let result = await prober.probe()
        await prober.shutdown()
        _ = gate.finished(result)
        return .probed(result)
    }

    private func select(name: String?, api: String?, scrapeTimeout: Double?) throws(Refusal) -> TargetConfig {
        let targets = config.withLockedValue { $0.targets }
        let valid = "valid targets: " + targets.map(\.name).joined(separator: ", ")
        guard let name, !name.isEmpty else { throw Refusal(description: "missing parameter target; \(valid)") }
        guard var target = targets.first(where: { $0.name == name }) else {
            throw Refusal(description: "unknown target \"\(name.prefix(100))\" (only names from the configuration are probed); \(valid)")
        }
        if let api, api != target.api {
            throw Refusal(description: "target \(name) speaks api \(target.api), not \"\(api.prefix(100))\"")
        }
        if let scrapeTimeout, scrapeTimeout.isFinite, scrapeTimeout > 0 {
            let allowed = Duration.seconds(scrapeTimeout) - limits.timeoutOffset
            target.settings.timeout = max(min(target.timeout, allowed), .milliseconds(100))
        }
        return target
    }

    private func select(transport: String?, of target: TargetConfig) throws(Refusal) -> [any TransportProber.Type] {
        let available = target.transports.compactMap(TransportCatalog.prober(named:))
        guard let transport else { return available }
        guard let chosen = available.first(where: { $0.name == transport }) else {
            throw Refusal(description: "target \(target.name) is not probed over \"\(transport.prefix(100))\"; valid transports: "
                          + available.map { $0.name }.joined(separator: ", "))
        }
        return [chosen]
    }
}
