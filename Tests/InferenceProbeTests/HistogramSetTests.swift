import InferenceProbe
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
        let text = String(decoding: metrics.exposition(), as: UTF8.self)
        let ttftBuckets = text.split(separator: "\n").filter { $0.hasPrefix("inference_probe_time_to_first_token_seconds_bucket{") }
        #expect(ttftBuckets.count == 3, "0.25, 1 and +Inf: \(ttftBuckets)")
        #expect(ttftBuckets.contains { $0.contains(#"le="1.0""#) && $0.hasSuffix(" 1") })
        #expect(!text.contains("inference_probe_inter_token_latency_seconds"))
        #expect(text.contains("inference_probe_inter_token_jitter_seconds_bucket"))
        #expect(text.contains("inference_probe_schedule_lateness_seconds_count 1"))
    }
}
