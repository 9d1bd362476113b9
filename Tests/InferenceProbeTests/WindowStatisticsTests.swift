import Foundation
import InferenceProbe
import InferenceSimulator
import NIOCore
import Testing

/// Window statistics: exact summaries, bounded histories, and the exported gauges against a known
/// distribution of injected delays.
@Suite("Window statistics")
struct WindowStatisticsTests {
    let key = SeriesKey(target: "t", model: "m", transport: "http_sse")

    @Test func summaryIsExact() throws {
        let summary = try #require(SampleSummary((1...100).map(Double.init).shuffled()))
        #expect(summary.count == 100 && summary.mean == 50.5 && summary.min == 1 && summary.max == 100)
        #expect(summary.p50 == 50 && summary.p90 == 90 && summary.p99 == 99, "nearest rank")
        #expect(abs(summary.stddev - 29.011491975882016) < 1e-9, "sample standard deviation")
        #expect(SampleSummary([]) == nil)
        #expect(SampleSummary([7])?.stddev == 0)
    }

    /// A streamed success at `ttft` seconds with `gaps` inter-token gaps.
    func result(ttft: Double, gaps: [Double] = [0.01], success: Bool = true, at start: ProbeInstant) -> ProbeResult {
        var timeline = ProbeTimeline(started: start)
        timeline.requestStarted = start
        var instant = start + .nanoseconds(Int64(ttft * 1e9))
        timeline.tokens = [instant]
        for gap in gaps {
            instant += .nanoseconds(Int64(gap * 1e9))
            timeline.tokens.append(instant)
        }
        timeline.ended = instant
        var result = ProbeResult(key: key, timeline: timeline, streamed: true)
        result.outcome = success ? .success : .serverError
        result.contentChunks = timeline.tokens.count
        return result
    }

    @Test func windowsCountOnlyTheirProbes() throws {
        let statistics = WindowedStatistics(windows: [.seconds(60), .seconds(600)])
        let t0 = ContinuousClock.now
        // 10 probes 2 minutes ago (100 ms, one failed), then 5 in the last minute (200 ms).
        for index in 0..<10 {
            let probe = result(ttft: 0.1, success: index != 0, at: t0)
            statistics.record(probe, ProbeMeasurement(probe), at: t0)
        }
        let now = t0 + .seconds(120)
        for _ in 0..<5 {
            let probe = result(ttft: 0.2, gaps: [0.02, 0.02], at: now)
            statistics.record(probe, ProbeMeasurement(probe), at: now)
        }
        let minute = statistics.snapshot(key, window: .seconds(60), now: now)
        #expect(minute.probes == 5 && minute.availability == 1)
        #expect(abs(try #require(minute.timeToFirstToken?.mean) - 0.2) < 1e-6)
        #expect(minute.interTokenLatency?.count == 10)
        let tenMinutes = statistics.snapshot(key, window: .seconds(600), now: now)
        #expect(tenMinutes.probes == 15 && tenMinutes.availability == 14.0 / 15)
        #expect(tenMinutes.timeToFirstToken?.count == 14 && tenMinutes.interTokenLatency?.count == 19)
        // After the longest window the old probes are gone.
        let later = now + .seconds(590)
        let probe = result(ttft: 0.3, at: later)
        statistics.record(probe, ProbeMeasurement(probe), at: later)
        #expect(statistics.snapshot(key, window: .seconds(600), now: later).probes == 6)
    }

    /// The gauges' snapshots are reused from one scrape to the next while exact: at every step they must
    /// agree with a snapshot computed afresh, as probes are recorded and others leave the window.
    @Test func reusedSnapshotsStayExact() throws {
        let statistics = WindowedStatistics(windows: [.seconds(60), .seconds(600)])
        let t0 = ContinuousClock.now
        func record(_ count: Int, ttft: Double, at instant: ProbeInstant) {
            for _ in 0..<count {
                let probe = result(ttft: ttft, at: instant)
                statistics.record(probe, ProbeMeasurement(probe), at: instant)
            }
        }
        func expectExact(at offset: Int, probes expected: [Int], sourceLocation: SourceLocation = #_sourceLocation) throws {
            let now = t0 + .seconds(offset)
            let series = try #require(statistics.snapshots(now: now).first { $0.key == key }, sourceLocation: sourceLocation)
            #expect(series.windows.map(\.snapshot.probes) == expected, "at +\(offset) s", sourceLocation: sourceLocation)
            for (window, snapshot) in series.windows {
                let fresh = statistics.snapshot(key, window: window, now: now)
                #expect(snapshot.probes == fresh.probes && snapshot.timeToFirstToken == fresh.timeToFirstToken,
                        "\(window) at +\(offset) s", sourceLocation: sourceLocation)
            }
        }
        record(3, ttft: 0.1, at: t0)
        record(2, ttft: 0.2, at: t0 + .seconds(30))
        try expectExact(at: 40, probes: [5, 5])
        try expectExact(at: 50, probes: [5, 5])  // nothing changed: reused
        try expectExact(at: 61, probes: [2, 5])  // the first three left the minute
        try expectExact(at: 20, probes: [5, 5])  // an earlier time (probes after it count): computed again
        record(1, ttft: 0.3, at: t0 + .seconds(70))
        try expectExact(at: 70, probes: [3, 6])  // a new probe
        record(1, ttft: 0.4, at: t0 + .seconds(70))
        try expectExact(at: 70, probes: [4, 7])  // another, finished at the same instant
        try expectExact(at: 660, probes: [0, 2])  // only the newest probes are left, in the ten minutes
        try expectExact(at: 671, probes: [0, 0])
    }

    /// A reload drops series from the statistics and from the sidecar's own tables, whose label sets shift
    /// down: every window gauge left must still carry its own series' labels and figures, and a dropped
    /// series that comes back starts a new history.
    @Test func windowGaugesKeepTheirSeriesThroughAReload() throws {
        let statistics = WindowedStatistics(windows: [.seconds(300)])
        let metrics = ProbeMetrics(statistics: statistics, windowGauges: [.mean])
        let keys = ["a", "b", "c"].map { SeriesKey(target: $0, model: "m", transport: "http_sse") }
        let now = ContinuousClock.now
        func probe(_ key: SeriesKey, ttft: Double, times: Int) {
            for _ in 0..<times {
                var probe = result(ttft: ttft, at: now)
                probe.key = key
                metrics.record(probe, ProbeMeasurement(probe))
                statistics.record(probe, ProbeMeasurement(probe), at: now)
            }
        }
        for key in keys { metrics.register(key) }
        // Probed in another order than registered: the statistics keep their series in a different order.
        probe(keys[2], ttft: 0.3, times: 3)
        probe(keys[1], ttft: 0.2, times: 2)
        probe(keys[0], ttft: 0.1, times: 1)
        func gauges(_ name: String) -> [String: Double] {
            var found: [String: Double] = [:]
            for line in String(buffer: metrics.exposition()).split(separator: "\n") where line.hasPrefix(name + "{") {
                let target = line.split(separator: "\"")[1]
                found[String(target)] = Double(line.split(separator: " ").last!)
            }
            return found
        }
        let ttft = "inference_probe_window_time_to_first_token_seconds"
        #expect(gauges("inference_probe_window_probes") == ["a": 1, "b": 2, "c": 3])
        metrics.replace(keys, with: [keys[1], keys[2]]) { statistics.keep(only: [keys[1], keys[2]]) }
        #expect(gauges("inference_probe_window_probes") == ["b": 2, "c": 3])
        let figures = gauges(ttft)
        #expect(figures.keys.sorted() == ["b", "c"])
        #expect(abs((figures["b"] ?? 0) - 0.2) < 1e-6 && abs((figures["c"] ?? 0) - 0.3) < 1e-6)
        probe(keys[2], ttft: 0.3, times: 1)
        metrics.replace([keys[1], keys[2]], with: keys)
        probe(keys[0], ttft: 0.4, times: 1)
        #expect(gauges("inference_probe_window_probes") == ["a": 1, "b": 2, "c": 4])
        #expect(abs((gauges(ttft)["a"] ?? 0) - 0.4) < 1e-6, "a's history began again")
    }

    /// The HTML page escapes what targets say (a failure detail is a server's text).
    @Test func statusPageEscapesAndHasATablePerTarget() {
        let board = ProbeStatusBoard(keys: [key, SeriesKey(target: "t", model: "m", transport: "websocket")])
        let statistics = WindowedStatistics()
        let now = ContinuousClock.now
        for ttft in [0.1, 0.12, 0.11] {
            let probe = result(ttft: ttft, at: now)
            board.record(probe, ProbeMeasurement(probe))
            statistics.record(probe, ProbeMeasurement(probe), at: now)
        }
        var failed = result(ttft: 0.1, success: false, at: now)
        failed.detail = "<script>alert(1)</script> & more"
        board.record(failed, ProbeMeasurement(failed))
        let html = StatusPage(board: board, statistics: statistics).render()
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; more") && !html.contains("<script>"))
        #expect(html.contains(#"<table class="comparison" data-target="t">"#))
        #expect(html.contains(#"<tr class="transport" data-transport="http_sse">"#) && html.contains(#"data-transport="websocket""#))
        #expect(html.contains("<polyline"), "three TTFTs make a sparkline")
        #expect(html.contains(#"<meta http-equiv="refresh" content="10">"#) && !html.contains("src=") && !html.contains("<link"))
    }

    @Test func historyIsBounded() {
        let statistics = WindowedStatistics(windows: [.seconds(3600)])
        let now = ContinuousClock.now
        let gaps = Array(repeating: 0.001, count: 16)
        for _ in 0..<4200 {
            let probe = result(ttft: 0.05, gaps: gaps, at: now)
            statistics.record(probe, ProbeMeasurement(probe), at: now)
        }
        let window = statistics.snapshot(key, window: .seconds(3600), now: now)
        #expect(window.probes == 4096, "at most 4,096 probes are kept")
        #expect(window.interTokenLatency?.count == 65_536, "at most 65,536 gaps are kept")
    }

    /// TTFT injected as a normal distribution (1 s, σ 200 ms) and a 20% error rate: after 400 probes the
    /// exported gauges are exactly the statistics of the TTFTs the probes measured, and those match the
    /// distribution where the machine's load cannot move them (mean and median within the sampling error plus
    /// the prober's overhead; the tails not below the distribution's). A second-long TTFT keeps the overhead
    /// of a loaded debug build small beside it; how far the tails stretch under load is for the benchmarks.
    @Test func exportedStatisticsMatchTheInjectedDistribution() async throws {
        var settings = fixedSettings(ttft: .seconds(1), interToken: .milliseconds(1), tokens: 3)
        settings.defaultProfile.timeToFirstToken = Delay(mean: .seconds(1), spread: .milliseconds(200))
        settings.defaultProfile.errorRate = 0.2
        let statistics = WindowedStatistics()
        let metrics = ProbeMetrics(statistics: statistics)
        let measured = try await withSimulator(settings) { port in
            let target = loopbackTarget(port: port, transports: ["http_sse"])
            var probers: [any TransportProber] = []
            for _ in 0..<40 { probers.append(try await makeProber("http_sse", target)) }
            return await withTaskGroup(of: [Double].self) { group in
                for prober in probers {
                    group.addTask {
                        var ttfts: [Double] = []
                        for _ in 0..<10 {
                            let result = await prober.probe()
                            let measurement = ProbeMeasurement(result)
                            statistics.record(result, measurement)
                            if let ttft = measurement.timeToFirstToken { ttfts.append(ttft) }
                        }
                        return ttfts
                    }
                }
                return await group.reduce(into: []) { $0 += $1 }
            }
        }
        let text = String(buffer: metrics.exposition())
        func gauge(_ name: String, stat: String? = nil, window: String = "1h") throws -> Double {
            let labels = #"target="sim",model="simulated-model",api="chat_completions",transport="http_sse",window="\#(window)""#
                + (stat.map { #",stat="\#($0)""# } ?? "")
            let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("\(name){\(labels)} ") }, "\(name) \(stat ?? "")")
            return try #require(Double(line.split(separator: " ").last!))
        }
        let ttft = "inference_probe_window_time_to_first_token_seconds"
        #expect(try gauge("inference_probe_window_probes") == 400)
        let availability = try gauge("inference_probe_window_availability_ratio")
        #expect(abs(availability - 0.8) < 0.06, "20% injected errors: \(availability)")
        // The gauges are the statistics of what was measured (kept as `Float`: within a microsecond).
        let exact = try #require(SampleSummary(measured))
        for stat in SampleSummary.Stat.allCases {
            let exported = try gauge(ttft, stat: stat.rawValue)
            #expect(abs(exported - exact[stat]) < 1e-6, "\(stat): exported \(exported), measured \(exact[stat])")
        }
        // Sampling error of ~320 draws (3 standard errors) plus up to 40 ms of overhead.
        let mean = try gauge(ttft, stat: "mean"), stddev = try gauge(ttft, stat: "stddev")
        #expect(mean > 0.966 && mean < 1.034 + 0.04, "mean \(mean)")
        #expect(stddev > 0.166, "stddev \(stddev)")
        let p50 = try gauge(ttft, stat: "p50"), p90 = try gauge(ttft, stat: "p90"), p99 = try gauge(ttft, stat: "p99")
        #expect(p50 > 0.95 && p50 < 1.10, "p50 \(p50)")
        #expect(p90 > 1.18, "p90 \(p90) (normal: 1.256 s)")
        #expect(p99 > 1.30, "p99 \(p99) (normal: 1.465 s)")
    }
}
