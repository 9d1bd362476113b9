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

    let target = TargetConfig(name: "t", baseURL: BaseURL(secure: false, host: "h", port: 80, path: "/v1"),
                              model: "m", transports: ["http_sse"])

    /// Feeds events to a dialect through the accumulator; returns it, or the failure that stopped it.
    func read(_ dialect: some APIDialect, _ events: [String]) -> Result<TokenStreamAccumulator, ProbeFailure> {
        var tokens = TokenStreamAccumulator()
        do {
            for event in events { try tokens.receive(dialect.readEvent(Array(event.utf8)), at: .now) }
            return .success(tokens)
        } catch {
            return .failure(error)
        }
    }

    @Test func chatCompletionsCountOnlyContentChunks() throws {
        let tokens = try read(ChatCompletionsDialect(target: target), [
            #"{"choices":[{"delta":{"role":"assistant","content":""}}]}"#,
            #"{"choices":[{"delta":{"content":"1"}}]}"#,
            #"{"choices":[{"delta":{"content":" 2"},"finish_reason":null}]}"#,
            #"{"choices":[{"delta":{},"finish_reason":"stop"}]}"#,
            #"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}"#,
            "[DONE]",
        ]).get()
        #expect(tokens.tokens.count == 2 && tokens.outputTokens == 2 && tokens.ended != nil)
    }

    @Test func responsesEventsEndAtCompleted() throws {
        let tokens = try read(ResponsesDialect(target: target), [
            #"{"type":"response.created","response":{"status":"in_progress"}}"#,
            #"{"type":"response.output_text.delta","delta":"1"}"#,
            #"{"type":"response.output_text.delta","delta":""}"#,
            #"{"type":"response.output_text.delta","delta":" 2"}"#,
            #"{"type":"response.completed","response":{"status":"completed","usage":{"output_tokens":2}}}"#,
        ]).get()
        #expect(tokens.tokens.count == 2 && tokens.outputTokens == 2 && tokens.ended != nil)
    }

    @Test func realtimeEventsEndAtResponseDone() throws {
        let dialect = RealtimeDialect(target: target)
        let tokens = try read(dialect, [
            #"{"type":"response.created","response":{"status":"in_progress"}}"#,
            #"{"type":"response.output_text.delta","delta":"1"}"#,
            #"{"type":"response.text.delta","delta":" 2"}"#,
            #"{"type":"response.done","response":{"status":"completed","usage":{"output_tokens":2}}}"#,
        ]).get()
        #expect(tokens.tokens.count == 2 && tokens.outputTokens == 2 && tokens.ended != nil)
        #expect(try dialect.readEvent(Array(#"{"type":"session.created","session":{}}"#.utf8)).isSessionEvent)
    }

    @Test func anthropicEventsEndAtMessageStop() throws {
        let tokens = try read(AnthropicMessagesDialect(target: target), [
            #"{"type":"message_start","message":{"usage":{"input_tokens":3,"output_tokens":1}}}"#,
            #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            #"{"type":"ping"}"#,
            #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"1"}}"#,
            #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" 2"}}"#,
            #"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}"#,
            #"{"type":"message_stop"}"#,
        ]).get()
        #expect(tokens.tokens.count == 2 && tokens.outputTokens == 2 && tokens.ended != nil)
    }

    /// In-band errors and failed responses of every dialect are failures with the API's reason, never a hang.
    @Test func inBandErrorsAreFailures() {
        func outcome(_ dialect: some APIDialect, _ event: String) -> (ProbeOutcome?, String) {
            guard case .failure(let failure) = read(dialect, [event]) else { return (nil, "") }
            return (failure.outcome, failure.detail)
        }
        let chat = ChatCompletionsDialect(target: target), responses = ResponsesDialect(target: target)
        let realtime = RealtimeDialect(target: target), anthropic = AnthropicMessagesDialect(target: target)
        #expect(outcome(chat, "{not json").0 == .protocolError)
        #expect(outcome(chat, #"{"choices": 3}"#).0 == .protocolError)
        #expect(outcome(chat, #"{"error":{"message":"overloaded","type":"server_error"}}"#) == (.serverError, "error in stream: overloaded"))
        #expect(outcome(chat, #"{"error":{"message":"slow down","type":"rate_limit_error"}}"#).0 == .rateLimited)
        #expect(outcome(responses, #"{"type":"error","code":"rate_limit_exceeded","message":"slow"}"#).0 == .rateLimited)
        #expect(outcome(responses, #"{"type":"error","status":500,"error":{"type":"server_error","message":"boom"}}"#) == (.serverError, "error event: boom"))
        #expect(outcome(responses, #"{"type":"response.failed","response":{"status":"failed","error":{"code":"server_error","message":"boom"}}}"#) == (.serverError, "response failed: boom"))
        #expect(outcome(responses, #"{"type":"response.incomplete","response":{"status":"incomplete","incomplete_details":{"reason":"max_output_tokens"}}}"#).1.contains("max_output_tokens"))
        #expect(outcome(realtime, #"{"type":"response.done","response":{"status":"failed","status_details":{"error":{"type":"server_error","message":"boom"}}}}"#) == (.serverError, "response failed: boom"))
        #expect(outcome(realtime, #"{"type":"error","error":{"type":"invalid_request_error","message":"bad"}}"#) == (.clientError, "error event: bad"))
        #expect(outcome(anthropic, #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#) == (.serverError, "error event: Overloaded"))
        #expect(outcome(anthropic, #"{"type":"error","error":{"type":"rate_limit_error","message":"slow"}}"#).0 == .rateLimited)
    }

    /// A secret that a server echoes is redacted from the whole message before it is shortened.
    @Test func echoedSecretsAcrossTheCutAreRedacted() {
        var target = self.target
        target.apiKey = Secret("sk-" + String(repeating: "k", count: 40))
        let padding = String(repeating: "x", count: ProbeResult.maxDetailLength - 20)
        var result = ProbeResult(key: target.seriesKey(transport: "http"), timeline: ProbeTimeline(started: .now), streamed: false)
        result.record(ProbeFailure(.serverError, padding + " key " + target.apiKey!.value + " end")) { $0.redactingSecrets(of: target) }
        #expect(!(result.detail ?? "").contains("sk-k"), "\(result.detail ?? "")")
        #expect((result.detail ?? "").count <= ProbeResult.maxDetailLength + 1)
    }

    @Test func statusCodesMapToOutcomes() {
        #expect(ProbeFailure.httpStatus(429, message: nil).outcome == .rateLimited)
        #expect(ProbeFailure.httpStatus(503, message: "busy").outcome == .serverError)
        #expect(ProbeFailure.httpStatus(529, message: nil).outcome == .serverError)
        #expect(ProbeFailure.httpStatus(401, message: nil).outcome == .authError)
        #expect(ProbeFailure.httpStatus(403, message: nil).outcome == .authError)
        #expect(ProbeFailure.httpStatus(404, message: nil).outcome == .clientError)
        #expect(ProbeFailure.httpStatus(302, message: nil).outcome == .protocolError)
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
