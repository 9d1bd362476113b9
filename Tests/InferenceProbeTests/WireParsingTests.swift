@testable import InferenceProbe
import Testing

@Suite("Wire parsing")
struct WireParsingTests {
    func strings(_ events: [[UInt8]]) -> [String] {
        events.map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func serverSentEventsAcrossArbitrarySplits() throws {
        let stream = Array(": keep-alive\r\ndata: {\"a\":1}\r\n\r\nevent: x\ndata: line1\ndata: line2\n\ndata:[DONE]\r\r".utf8)
        // Every split point must give the same events.
        for split in 0...stream.count {
            var decoder = ServerSentEventDecoder()
            let events = try decoder.feed(stream[..<split]) + decoder.feed(stream[split...])
            #expect(strings(events) == ["{\"a\":1}", "line1\nline2", "[DONE]"], "split at \(split)")
        }
    }

    @Test func serverSentEventLimits() {
        var decoder = ServerSentEventDecoder(maxBytes: 64)
        #expect(throws: ProbeFailure.self) {
            _ = try decoder.feed(Array(repeating: UInt8(ascii: "a"), count: 100))
        }
        var multiLine = ServerSentEventDecoder(maxBytes: 64)
        #expect(throws: ProbeFailure.self) {
            _ = try multiLine.feed(Array(String(repeating: "data: 0123456789\n", count: 10).utf8))
        }
    }

    @Test func tokenStreamCountsOnlyContentChunks() throws {
        var tokens = TokenStreamAccumulator()
        let now = ProbeInstant.now
        try tokens.receive(Array(#"{"choices":[{"delta":{"role":"assistant","content":""}}]}"#.utf8), at: now)
        try tokens.receive(Array(#"{"choices":[{"delta":{"content":"1"}}]}"#.utf8), at: now)
        try tokens.receive(Array(#"{"choices":[{"delta":{"content":" 2"},"finish_reason":null}]}"#.utf8), at: now)
        try tokens.receive(Array(#"{"choices":[{"delta":{},"finish_reason":"stop"}]}"#.utf8), at: now)
        try tokens.receive(Array(#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}"#.utf8), at: now)
        #expect(tokens.tokens.count == 2)
        #expect(tokens.reportedOutputTokens == 2)
    }

    func failure(_ json: String) -> ProbeFailure? {
        var tokens = TokenStreamAccumulator()
        do {
            try tokens.receive(Array(json.utf8), at: .now)
            return nil
        } catch {
            return error
        }
    }

    @Test func malformedChunksAreProtocolErrorsAndErrorObjectsAPIErrors() throws {
        #expect(failure("{not json")?.outcome == .protocolError)
        #expect(failure(#"{"choices": 3}"#)?.outcome == .protocolError)
        let overloaded = try #require(failure(#"{"error":{"message":"overloaded","type":"server_error"}}"#))
        #expect(overloaded.outcome == .httpError)
        #expect(overloaded.detail.contains("overloaded"))
        #expect(failure(#"{"error":{"message":"slow down","type":"rate_limit_error"}}"#)?.outcome == .rateLimited)
    }

    @Test func statusCodesMapToOutcomes() {
        #expect(ProbeFailure.httpStatus(429, message: nil).outcome == .rateLimited)
        #expect(ProbeFailure.httpStatus(503, message: "busy").outcome == .httpError)
        #expect(ProbeFailure.httpStatus(503, message: "busy").detail == "HTTP 503: busy")
    }
}

@Suite("Measurements from timelines")
struct ProbeMeasurementTests {
    let key = SeriesKey(target: "t", model: "m", transport: "http_sse")

    @Test func streamingFigures() {
        let t0 = ProbeInstant.now
        var timeline = ProbeTimeline(started: t0)
        timeline.resolved = t0 + .milliseconds(1)
        timeline.connected = t0 + .milliseconds(3)
        timeline.requestStarted = t0 + .milliseconds(4)
        timeline.firstByte = t0 + .milliseconds(14)
        timeline.tokens = [t0 + .milliseconds(104), t0 + .milliseconds(124), t0 + .milliseconds(154)]
        timeline.ended = t0 + .milliseconds(164)
        var result = ProbeResult(key: key, timeline: timeline, streamed: true)
        result.outcome = .success
        result.contentChunks = 3
        result.reportedOutputTokens = 4
        let m = ProbeMeasurement(result)
        #expect(m.connectionPhases.map(\.name) == ["dns", "connect"])
        #expect(abs(m.connectionPhases[1].seconds - 0.002) < 1e-9)
        #expect(abs(m.connectionSetup! - 0.003) < 1e-9)
        #expect(abs(m.timeToFirstByte! - 0.010) < 1e-9)
        #expect(abs(m.timeToFirstToken! - 0.100) < 1e-9)
        #expect(m.interTokenLatencies.count == 2)
        #expect(abs(m.interTokenLatencies[0] - 0.020) < 1e-9 && abs(m.interTokenLatencies[1] - 0.030) < 1e-9)
        #expect(abs(m.interTokenJitter! - 0.005) < 1e-9, "gaps of 20 and 30 ms deviate 5 ms from their mean")
        #expect(abs(m.duration! - 0.160) < 1e-9)
        #expect(m.outputTokens == 4)
        // 3 tokens after the first over 60 ms from first token to end.
        #expect(abs(m.outputTokensPerSecond! - 50) < 1e-6)
    }

    @Test func failedProbeHasNoRequestFigures() {
        let t0 = ProbeInstant.now
        var timeline = ProbeTimeline(started: t0)
        timeline.requestStarted = t0
        timeline.tokens = [t0 + .milliseconds(5)]
        timeline.ended = t0 + .milliseconds(10)
        var result = ProbeResult(key: key, timeline: timeline, streamed: true)
        result.outcome = .timeout
        let m = ProbeMeasurement(result)
        #expect(m.timeToFirstToken == nil && m.duration == nil && m.outputTokensPerSecond == nil)
        #expect(m.interTokenLatencies.isEmpty && m.interTokenJitter == nil && m.outputTokens == 0)
    }

    @Test func reusedConnectionHasNoSetup() {
        var timeline = ProbeTimeline(started: .now)
        timeline.connected = .now
        var result = ProbeResult(key: key, timeline: timeline, streamed: true, connectionReused: true)
        result.outcome = .success
        let m = ProbeMeasurement(result)
        #expect(m.connectionSetup == nil && m.connectionPhases.isEmpty)
    }
}
