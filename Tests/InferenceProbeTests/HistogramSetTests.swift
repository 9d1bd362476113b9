import NIOCore
import Prometheus
@testable import InferenceProbe
import Testing

@Suite("Histogram set (metrics.histograms)")
struct HistogramSetTests {
    let targets = """
        targets:
          - name: t
            base_url: http://127.0.0.1:9/v1
            model: m
            transports: [http_sse]
        """

    @Test func configChoosesHistogramsAndBuckets() throws {
        let config = try ConfigLoader.parse("""
            metrics:
              histograms:
                time_to_first_token: [0.1, 0.5, 2]
                inter_token_jitter: false
                schedule_lateness: true
            \(targets)
            """, file: "probe.yml")
        #expect(config.histograms.buckets[.timeToFirstToken] == [0.1, 0.5, 2])
        #expect(config.histograms.buckets[.interTokenJitter] == nil)
        #expect(config.histograms.buckets[.scheduleLateness] == HistogramSet.Kind.scheduleLateness.defaultBuckets)
        #expect(config.histograms.buckets[.requestDuration] == HistogramSet.Kind.requestDuration.defaultBuckets)
    }

    @Test(arguments: [
        ("metrics:\n  histograms:\n    ttft: [1]", "metrics.histograms.ttft", "unknown key"),
        ("metrics:\n  histograms:\n    request_duration: [1, 0.5]", "metrics.histograms.request_duration", "ascending"),
        ("metrics:\n  histograms:\n    request_duration: [0, 1]", "metrics.histograms.request_duration[0]", "greater than 0"),
        ("metrics:\n  histograms:\n    request_duration: maybe", "metrics.histograms.request_duration", "true or false"),
        ("statistics:\n  gauges: [mean, p95]", "statistics.gauges[1]", "unknown statistic 'p95'"),
        ("statistics:\n  gauges: [p50, p50]", "statistics.gauges[1]", "listed twice"),
        ("statistics:\n  gauges: some", "statistics.gauges", "true or false"),
        ("metrics:\n  outcome_counters: seen", "metrics.outcome_counters", "expected all or observed"),
    ])
    func badHistogramSettingsNameTheKey(yaml: String, key: String, reason: String) {
        do {
            _ = try ConfigLoader.parse(yaml + "\n" + targets, file: "probe.yml")
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect(error.key == key)
            #expect(error.reason.contains(reason), "\(error)")
        }
    }

    /// `statistics.gauges` chooses the statistics of each window exported; probes and availability stay.
    @Test func windowGaugesFollowTheConfig() throws {
        let chosen = try ConfigLoader.parse("statistics:\n  gauges: [p99, mean]\n" + targets, file: "probe.yml")
        #expect(chosen.windowGauges == [.mean, .p99])
        #expect(try ConfigLoader.parse("statistics:\n  gauges: false\n" + targets, file: "probe.yml").windowGauges.isEmpty)
        #expect(try ConfigLoader.parse(targets, file: "probe.yml").windowGauges == SampleSummary.Stat.allCases)

        let statistics = WindowedStatistics(windows: [.seconds(300)])
        let metrics = ProbeMetrics(statistics: statistics, windowGauges: chosen.windowGauges)
        let key = SeriesKey(target: "t", model: "m", transport: "http")
        let start = ProbeInstant.now
        var timeline = ProbeTimeline(started: start)
        timeline.requestStarted = start
        timeline.ended = start + .milliseconds(50)
        var result = ProbeResult(key: key, timeline: timeline, streamed: false)
        result.outcome = .success
        statistics.record(result, ProbeMeasurement(result), at: .now)
        let text = String(buffer: metrics.exposition())
        let lines = text.split(separator: "\n").filter { $0.hasPrefix("inference_probe_window_request_duration_seconds{") }
        let stats = Set(SampleSummary.Stat.allCases.filter { stat in lines.contains { $0.contains("stat=\"\(stat.rawValue)\"") } })
        #expect(stats == [.mean, .p99])
        #expect(text.contains("inference_probe_window_availability_ratio{"))
    }

    /// `metrics.outcome_counters: observed` writes only the counts above 0, and no family without one;
    /// by default every outcome and reason of a series is written from 0.
    @Test func observedOutcomeCountersLeaveZerosOut() throws {
        #expect(try ConfigLoader.parse(targets, file: "probe.yml").outcomeCounters == .all)
        let observed = try ConfigLoader.parse("metrics:\n  outcome_counters: observed\n" + targets, file: "probe.yml")
        #expect(observed.outcomeCounters == .observed)

        let key = SeriesKey(target: "t", model: "m", transport: "websocket")
        let idle = SeriesKey(target: "u", model: "m", transport: "http")
        var result = ProbeResult(key: key, timeline: ProbeTimeline(started: .now), streamed: true)
        result.outcome = .timeout
        func probeLines(_ lines: OutcomeCounterLines) -> (probes: [Substring], text: String) {
            let metrics = ProbeMetrics(outcomeCounters: lines)
            metrics.register(key)
            metrics.register(idle)
            metrics.record(result, ProbeMeasurement(result))
            let text = String(buffer: metrics.exposition())
            return (text.split(separator: "\n").filter { $0.hasPrefix("inference_probe_probes_total{") }, text)
        }
        let all = probeLines(.all)
        #expect(all.probes.count == 2 * ProbeOutcome.allCases.count)
        #expect(all.text.contains(#"inference_probe_probes_skipped_total{target="u",model="m",api="chat_completions",transport="http",reason="rate_limited"} 0"#))
        #expect(all.text.contains("inference_probe_websocket_reconnects_total{"))

        let few = probeLines(.observed)
        #expect(few.probes == [#"inference_probe_probes_total{target="t",model="m",api="chat_completions",transport="websocket",outcome="timeout"} 1"#])
        #expect(!few.text.contains("inference_probe_probes_skipped_total"), "no family without a count")
        #expect(!few.text.contains("inference_probe_websocket_reconnects_total"))
    }

    /// A disabled histogram is absent from the exposition; a configured one has exactly its buckets.
    @Test func exportedHistogramsFollowTheSet() throws {
        var set = HistogramSet()
        set.disable(.interTokenLatency)
        set.enable(.timeToFirstToken, buckets: [0.25, 1])
        let metrics = ProbeMetrics(histograms: set)
        let key = SeriesKey(target: "t", model: "m", transport: "http_sse")
        let start = ProbeInstant.now
        var timeline = ProbeTimeline(started: start)
        timeline.requestStarted = start
        timeline.tokens = [start + .milliseconds(300), start + .milliseconds(310), start + .milliseconds(320)]
        timeline.ended = start + .milliseconds(330)
        var result = ProbeResult(key: key, timeline: timeline, streamed: true)
        result.outcome = .success
        result.contentChunks = 3
        result.scheduleLateness = 0.002
        metrics.record(result, ProbeMeasurement(result))
        let text = String(buffer: metrics.exposition())
        let ttftBuckets = text.split(separator: "\n").filter { $0.hasPrefix("inference_probe_time_to_first_token_seconds_bucket{") }
        #expect(ttftBuckets.count == 3, "0.25, 1 and +Inf: \(ttftBuckets)")
        #expect(ttftBuckets.contains { $0.contains(#"le="1.0""#) && $0.hasSuffix(" 1") })
        #expect(!text.contains("inference_probe_inter_token_latency_seconds"))
        #expect(text.contains("inference_probe_inter_token_jitter_seconds_bucket"))
        #expect(text.contains("inference_probe_schedule_lateness_seconds_count 1"))
    }
}

/// The per-series histograms are written by the sidecar, not swift-prometheus: the same observations must
/// give the same samples as swift-prometheus's own histogram (values compared as numbers).
@Suite("Series histograms")
struct SeriesHistogramsTests {
    /// `name{labels}` -> value, for the sample lines of `text`.
    private func samples(_ text: [UInt8], prefix: String) -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in String(decoding: text, as: UTF8.self).split(separator: "\n") where line.hasPrefix(prefix) {
            let parts = line.split(separator: " ")
            samples[String(parts[0])] = Double(parts[1])
        }
        return samples
    }

    @Test func sameSamplesAsSwiftPrometheus() throws {
        var set = HistogramSet()
        set.enable(.timeToFirstToken, buckets: [0.1, 0.25, 1])
        let ours = SeriesHistograms(set)
        let key = SeriesKey(target: "t\"1", model: "m\\", api: "chat_completions", transport: "http_sse")
        let registry = PrometheusCollectorRegistry()
        let theirs = registry.makeValueHistogram(descriptor: MetricCatalog.timeToFirstToken, labels: key.labels, buckets: [0.1, 0.25, 1])
        // On a bound, between bounds, above every bound.
        for value in [0.05, 0.1, 0.2, 0.25, 0.9, 1, 3.5] {
            ours.observe(key, [(.timeToFirstToken, value), (.scheduleLateness, value)])
            theirs.record(value)
        }
        var buffer: [UInt8] { var bytes = ByteBuffer(); bytes.write(ours.parts()); return Array(bytes.readableBytesView) }
        let name = MetricCatalog.timeToFirstToken.name
        let expected = samples(registry.emitToBuffer(), prefix: name)
        #expect(expected.count == 6, "4 buckets, sum, count")
        #expect(samples(buffer, prefix: name) == expected)
        #expect(!String(decoding: buffer, as: UTF8.self).contains("schedule_lateness"), "process-wide, not per series")
        #expect(String(decoding: buffer, as: UTF8.self).contains("# TYPE \(name) histogram\n"))

        // A series without observations has no histogram; a forgotten one is gone.
        let other = SeriesKey(target: "u", model: "m", api: "chat_completions", transport: "http")
        ours.observe(other, [(.connectionSetup, 0.01)])
        #expect(!String(decoding: buffer, as: UTF8.self).contains("\(name)_count{target=\"u\""))
        ours.forget(key)
        #expect(samples(buffer, prefix: name).isEmpty)
        #expect(String(decoding: buffer, as: UTF8.self).contains("connection_setup_seconds_count{target=\"u\""))
    }
}
