import Foundation
@testable import InferenceProbe
import InferenceSimulator
import NIOCore
import NIOPosix
import ServiceLifecycle
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The whole sidecar (scheduler, metrics, endpoint) over real sockets, against the simulator and
/// misbehaving targets.
@Suite("Sidecar end to end")
struct SidecarTests {
    /// Runs a sidecar for `config` until `body` returns; `body` gets the sidecar and its endpoint port.
    func withSidecar<T: Sendable>(_ config: ProbeConfig, _ body: (Sidecar, Int) async throws -> T) async throws -> T {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let sidecar = try Sidecar(
            config: config, options: SidecarOptions(listen: ListenAddress(host: "127.0.0.1", port: 0)), logger: quietLogger,
            onListening: { continuation.yield($0) })
        let group = ServiceGroup(configuration: .init(services: sidecar.services, logger: quietLogger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            defer { tasks.cancelAll() }
            let value = try await body(sidecar, port)
            await group.triggerGracefulShutdown()
            return value
        }
    }

    /// Waits (up to `limit`) until `condition` holds for the board.
    func wait(_ board: ProbeStatusBoard, limit: Duration = .seconds(15), until condition: ([SeriesKey: ProbeStatusBoard.Entry]) -> Bool) async throws {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            let entries = Dictionary(uniqueKeysWithValues: board.snapshot().compactMap { key, entry in entry.map { (key, $0) } })
            if condition(entries) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("condition not met within \(limit): \(board.renderText())")
    }

    /// A few targets start within a tenth of their interval; a fleet's first round is spread so that the
    /// series beyond the first 50 start at `firstRoundRate`, up to the whole interval.
    @Test func firstRoundIsSpreadByFleetSize() {
        #expect(ProbeScheduler.firstRoundSpread(interval: .seconds(30), jobs: 3) == .seconds(2))
        #expect(ProbeScheduler.firstRoundSpread(interval: .seconds(5), jobs: 9) == .milliseconds(500))
        #expect(ProbeScheduler.firstRoundSpread(interval: .milliseconds(100), jobs: 50) == .milliseconds(10))
        #expect(ProbeScheduler.firstRoundSpread(interval: .seconds(30), jobs: 300) == .milliseconds(12_500))
        #expect(ProbeScheduler.firstRoundSpread(interval: .seconds(30), jobs: 3000) == .seconds(30))
    }

    /// A probing task resumes on its event loop after each await (a sleep here), not on the global executor.
    @Test func aTaskPreferringAnEventLoopRunsOnIt() async throws {
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let loop = loops.next()
        let executor = EventLoopTaskExecutor(loop)
        let onLoop = await withTaskExecutorPreference(executor) { () async -> [Bool] in
            var seen = [loop.inEventLoop]
            for _ in 0..<3 {
                try? await Task.sleep(for: .milliseconds(2))
                seen.append(loop.inEventLoop)
                try? await executor.sleep(until: .now + .milliseconds(2))
                seen.append(loop.inEventLoop)
            }
            return seen
        }
        #expect(onLoop == [Bool](repeating: true, count: 7))
        #expect(!loop.inEventLoop, "the test itself is not on the loop")
        try await loops.shutdownGracefully()
    }

    /// The scheduler sleeps on its loop's timer: not before the deadline, and cancellation (SIGTERM) ends it.
    @Test func sleepingOnTheLoopEndsAtTheDeadlineOrWhenCancelled() async throws {
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let executor = EventLoopTaskExecutor(loops.next())
        let deadline = ContinuousClock.now + .milliseconds(30)
        try await executor.sleep(until: deadline)
        #expect(ContinuousClock.now >= deadline)
        try await executor.sleep(until: .now - .seconds(1))  // a deadline passed: at once
        let sleeper = Task { try await executor.sleep(until: .now + .seconds(600)) }
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        try await loops.shutdownGracefully()
    }

    @Test func stalledAndRefusedTargetsDoNotHoldBackAHealthyOne() async throws {
        let settings = fixedSettings(ttft: .milliseconds(20), interToken: .milliseconds(2), tokens: 5)
        let stalled = try await RawTCPServer(reply: nil)
        let refused = try await closedPort()
        let counts = try await withSimulator(settings) { simulatorPort in
            let config = ProbeConfig(targets: [
                loopbackTarget(name: "healthy", port: simulatorPort, timeout: .seconds(2), interval: .milliseconds(200)),
                loopbackTarget(name: "stalled", port: stalled.port, timeout: .seconds(2), interval: .milliseconds(200)),
                loopbackTarget(name: "refused", port: refused, timeout: .seconds(2), interval: .milliseconds(200)),
            ])
            return try await withSidecar(config) { sidecar, _ in
                // While every stalled probe waits out its 2 s timeout, the healthy target keeps its 200 ms pace.
                try await wait(sidecar.board) { entries in
                    entries.filter { $0.key.target == "stalled" && $0.value.probes >= 1 }.count == 3
                }
                return sidecar.board.snapshot()
            }
        }
        await stalled.stop()
        for (key, entry) in counts {
            let entry = try #require(entry, "\(key) was never probed")
            switch key.target {
            case "healthy":
                #expect(entry.probes >= 4, "\(key): \(entry.probes) probes while the stalled target timed out")
                #expect(entry.failures == 0, "\(key): \(entry.result.detail ?? "")")
            case "stalled":
                // A WebSocket upgrade that is never answered is a connect timeout; the others time out.
                let expected: ProbeOutcome = key.transport == "websocket" ? .connectTimeout : .timeout
                #expect(entry.result.outcome == expected, "\(key): \(entry.result.detail ?? "")")
            default:
                #expect(entry.result.outcome == .connectError, "\(key): \(entry.result.detail ?? "")")
                #expect(entry.probes >= 4)
            }
        }
    }

    @Test func metricsEndpointServesEverySeriesAndPassesPromtool() async throws {
        let settings = fixedSettings(ttft: .milliseconds(30), interToken: .milliseconds(3), tokens: 6, apiKey: "sk-never-shown")
        let (metrics, status, healthy, ready) = try await withSimulator(settings) { simulatorPort in
            var target = loopbackTarget(port: simulatorPort, interval: .milliseconds(200), apiKey: "sk-never-shown")
            target.pricing = Pricing(inputPerMillion: 0.15, outputPerMillion: 0.60)
            target.dailyBudget = 10
            let config = ProbeConfig(targets: [target])
            return try await withSidecar(config) { sidecar, port in
                try await wait(sidecar.board) { entries in
                    entries.count == 3 && entries.values.allSatisfy { $0.probes >= 2 }
                }
                return (try await httpGet(port: port, path: "/metrics"), try await httpGet(port: port, path: "/"),
                        try await httpGet(port: port, path: "/-/healthy"), try await httpGet(port: port, path: "/-/ready"))
            }
        }
        #expect(metrics.status == 200 && healthy.status == 200 && ready.status == 200)
        let text = metrics.body
        for transport in TransportCatalog.names {
            let labels = #"target="sim",model="simulated-model",api="chat_completions",transport="\#(transport)""#
            for series in [
                "inference_probe_request_duration_seconds_count", "inference_probe_time_to_first_byte_seconds_count",
                "inference_probe_connection_setup_seconds_count", "inference_probe_output_tokens_per_second_count",
                "inference_probe_output_tokens_total", "inference_probe_last_probe_success",
                "inference_probe_last_probe_timestamp_seconds", "inference_probe_input_tokens_total",
                "inference_probe_cost_dollars_total",
            ] {
                #expect(text.contains("\(series){\(labels)}"), "\(series) for \(transport)")
            }
            #expect(text.contains(#"inference_probe_probes_total{\#(labels),outcome="success"}"#))
            #expect(text.contains(#"inference_probe_probes_total{\#(labels),outcome="timeout"} 0"#))
            #expect(text.contains(#"inference_probe_probes_skipped_total{\#(labels),reason="rate_limited"} 0"#))
            let streaming = transport != "http"
            #expect(text.contains("inference_probe_time_to_first_token_seconds_count{\(labels)}") == streaming)
            #expect(text.contains("inference_probe_inter_token_latency_seconds_count{\(labels)}") == streaming)
            #expect(text.contains("inference_probe_inter_token_jitter_seconds_count{\(labels)}") == streaming)
        }
        let targetLabels = #"target="sim",model="simulated-model",api="chat_completions""#
        for series in ["inference_probe_backoff_remaining_seconds{\(targetLabels)} 0", "inference_probe_daily_budget_exhausted{\(targetLabels)} 0",
                       "inference_probe_daily_cost_dollars{\(targetLabels)} ", #"inference_probe_rate_limit_remaining{\#(targetLabels),resource="tokens"} "#,
                       #"inference_probe_websocket_reconnects_total{\#(targetLabels),transport="websocket",reason="pong_timeout"} 0"#] {
            #expect(text.contains(series), "\(series)")
        }
        #expect(text.contains(#"inference_probe_build_info{version="\#(BuildInfo.version)"} 1"#))
        #expect(!text.contains("sk-never-shown") && !status.body.contains("sk-never-shown"))
        #expect(status.body.contains("sim/simulated-model/chat_completions/websocket"))

        let (exitCode, output) = try await promtoolCheckMetrics(text)
        #expect(exitCode == 0, "promtool check metrics: \(output)")
        #expect(output.isEmpty, "promtool check metrics: \(output)")
    }

    /// A target answering 429 with `Retry-After: 1` is probed about once a second over all its transports
    /// together, instead of at every 100 ms tick; the skipped ticks are counted, and a healthy target beside
    /// it keeps its pace.
    @Test func rateLimitedTargetIsPausedAsItAsks() async throws {
        let head = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n"
        let limited = try await RawTCPServer(reply: Array(head.utf8), recordRequests: true)
        let settings = fixedSettings(ttft: .milliseconds(5), interToken: .milliseconds(1), tokens: 3)
        let (metrics, board) = try await withSimulator(settings) { simulatorPort in
            let config = ProbeConfig(targets: [
                loopbackTarget(name: "limited", port: limited.port, transports: ["http", "http_sse"], interval: .milliseconds(100)),
                loopbackTarget(name: "healthy", port: simulatorPort, transports: ["http"], interval: .milliseconds(100)),
            ])
            return try await withSidecar(config) { sidecar, port in
                try await Task.sleep(for: .milliseconds(2_500))
                return (try await httpGet(port: port, path: "/metrics").body, sidecar.board.snapshot())
            }
        }
        await limited.stop()
        let requests = limited.received.components(separatedBy: "POST ").count - 1
        // Ticks at 0 s (both transports may go out together), then one probe after each ~1.05 s pause.
        #expect(requests >= 2 && requests <= 5, "\(requests) requests in 2.5 s instead of ~50 without backoff")
        let skipped = metrics.split(separator: "\n").filter {
            $0.hasPrefix("inference_probe_probes_skipped_total{target=\"limited\"") && $0.contains(#"reason="rate_limited""#)
        }.compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
        #expect(skipped >= 20, "skipped ticks are counted: \(skipped)")
        let backoff = metrics.split(separator: "\n").first { $0.hasPrefix("inference_probe_backoff_remaining_seconds{target=\"limited\"") }
        #expect(backoff != nil && !(backoff!.hasSuffix(" 0")), "\(String(describing: backoff))")
        let healthy = try #require(board.first { $0.key.target == "healthy" }?.entry)
        #expect(healthy.probes >= 15 && healthy.failures == 0, "the healthy target keeps its pace: \(healthy.probes) probes")
        // The pause covers the target's transports together, so one of them may not have been probed yet.
        let limitedEntries = board.filter { $0.key.target == "limited" }.compactMap(\.entry)
        #expect(!limitedEntries.isEmpty && limitedEntries.allSatisfy { $0.result.outcome == .rateLimited },
                "\(limitedEntries.map(\.result.outcome))")
    }

    /// Runs `promtool check metrics` (Debian package `prometheus`) on `exposition`.
    func promtoolCheckMetrics(_ exposition: String) async throws -> (Int32, String) {
        let path = ["/usr/bin/promtool", "/usr/local/bin/promtool"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let promtool = try #require(path, "promtool not found: install the Debian package prometheus (Tests/run does)")
        return try await runProcess(promtool, ["check", "metrics"], input: exposition)
    }
}
