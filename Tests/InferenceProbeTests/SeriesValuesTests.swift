import NIOCore
import Prometheus
import Testing
@testable import InferenceProbe

/// Tokens, cost, last probe and connection phases are written by the sidecar, not swift-prometheus: the
/// same updates must give the same samples as swift-prometheus's counters and gauges (values as numbers).
@Suite("Series values")
struct SeriesValuesTests {
    /// `name{labels}` -> value, for the sample lines of `text`.
    private func samples(_ text: String) -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            samples[String(parts[0])] = Double(parts[1])
        }
        return samples
    }

    private func exposition(_ values: SeriesValues) -> String {
        var buffer = ByteBuffer()
        buffer.write(values.parts())
        return String(buffer: buffer)
    }

    @Test func sameSamplesAsSwiftPrometheus() throws {
        let ours = SeriesValues()
        let registry = PrometheusCollectorRegistry()
        let key = SeriesKey(target: "t\"1", model: "m\\", api: "chat_completions", transport: "websocket")
        let other = SeriesKey(target: "u", model: "m", api: "responses", transport: "http")
        let labels = key.labels
        ours.register(key)
        ours.register(other)
        for counter in [MetricCatalog.outputTokens, MetricCatalog.inputTokens] {
            for series in [key, other] { _ = registry.makeCounter(descriptor: counter, labels: series.labels) }
        }
        // Two probes of `key`: a success with a new connection, then a failure on the same connection.
        ours.update(key) { values in
            values.outputTokens += 20
            values.inputTokens += 12
            values.cost = (values.cost ?? 0) + 0.000_015
            values.lastSuccess = 1
            values.lastTimestamp = 1_764_000_000.25
            values.phases[0] = 0.000_8
            values.phases[1] = 0.000_25
        }
        ours.update(key) { values in
            values.lastSuccess = 0
            values.lastTimestamp = 1_764_000_030
        }
        registry.makeCounter(descriptor: MetricCatalog.outputTokens, labels: labels).increment(by: Int64(20))
        registry.makeCounter(descriptor: MetricCatalog.inputTokens, labels: labels).increment(by: Int64(12))
        registry.makeCounter(descriptor: MetricCatalog.cost, labels: labels).increment(by: 0.000_015)
        registry.makeGauge(descriptor: MetricCatalog.lastSuccess, labels: labels).set(0.0)
        registry.makeGauge(descriptor: MetricCatalog.lastTimestamp, labels: labels).set(1_764_000_030.0)
        registry.makeGauge(descriptor: MetricCatalog.connectionPhase, labels: labels + [("phase", "dns")]).set(0.000_8)
        registry.makeGauge(descriptor: MetricCatalog.connectionPhase, labels: labels + [("phase", "connect")]).set(0.000_25)

        let text = exposition(ours)
        let expected = samples(String(decoding: registry.emitToBuffer(), as: UTF8.self))
        #expect(expected.count == 9, "tokens of both series (4), cost, success, timestamp, 2 phases")
        #expect(samples(text) == expected)
        #expect(text.contains("# TYPE inference_probe_cost_dollars_total counter\n"))
        #expect(text.contains("# TYPE inference_probe_connection_phase_seconds gauge\n"))

        // A family no series has a value of is left out; a forgotten series is gone.
        ours.forget(key)
        let rest = exposition(ours)
        #expect(!rest.contains("inference_probe_cost_dollars_total") && !rest.contains("connection_phase"))
        #expect(samples(rest).keys.sorted() == [#"inference_probe_input_tokens_total{target="u",model="m",api="responses",transport="http"}"#,
                                               #"inference_probe_output_tokens_total{target="u",model="m",api="responses",transport="http"}"#])
    }
}

/// The sidecar's label sets, one after another in one buffer: each set is found by its number through
/// additions and removals, copied or lent.
@Suite("Label sets")
struct LabelSetsTests {
    @Test func setsStayFoundThroughRemovals() {
        var sets = LabelSets()
        let texts = [#"target="a""#, "", #"target="ccc",model="m""#, #"target="d""#, #"target="e\"""#]
        for text in texts { sets.append(Array(text.utf8)) }
        func contents(_ sets: LabelSets) -> [String] {
            let copied = (0..<sets.count).map { String(decoding: sets[$0], as: UTF8.self) }
            let lent = sets.withUnsafeSets { lent in (0..<sets.count).map { String(decoding: lent[$0], as: UTF8.self) } }
            #expect(copied == lent)
            return copied
        }
        #expect(contents(sets) == texts)
        var shrunk = sets
        shrunk.remove(at: 2)
        #expect(contents(shrunk) == [texts[0], texts[1], texts[3], texts[4]])
        shrunk.remove(at: 0)
        shrunk.remove(at: shrunk.count - 1)
        #expect(contents(shrunk) == [texts[1], texts[3]])
        shrunk.append(Array("x".utf8))
        #expect(contents(shrunk) == [texts[1], texts[3], "x"])
        #expect(contents(sets) == texts, "a copy keeps its own sets")
    }
}
