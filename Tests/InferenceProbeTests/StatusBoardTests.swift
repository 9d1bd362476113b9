import Foundation
import InferenceProbe
import Testing

@Suite("Status page")
struct StatusBoardTests {
    /// Every outcome and every series name is shown whole, whatever its length.
    @Test func columnsFitTheirWidestCell() {
        let keys = [SeriesKey(target: "a-rather-long-target-name-for-a-fleet", model: "meta-llama/Llama-3.1-70B-Instruct",
                              transport: "http_sse"),
                    SeriesKey(target: "b", model: "m", transport: "websocket")]
        let board = ProbeStatusBoard(keys: keys)
        for (key, outcome) in zip(keys, [ProbeOutcome.rateLimited, .connectionClosed]) {
            var result = ProbeResult(key: key, timeline: ProbeTimeline(started: .now), streamed: true)
            result.record(ProbeFailure(outcome, "reason of \(key.target)"))
            board.record(result, ProbeMeasurement(result))
        }
        let lines = board.renderText().split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.contains("a-rather-long-target-name-for-a-fleet/meta-llama/Llama-3.1-70B-Instruct/chat_completions/http_sse") })
        #expect(lines.contains { $0.contains(" rate_limited ") && $0.hasSuffix("reason of a-rather-long-target-name-for-a-fleet") })
        #expect(lines.contains { $0.contains(" connection_closed ") && $0.hasSuffix("reason of b") })
        let header = lines.first { $0.hasPrefix("target/model/api/transport") } ?? ""
        let row = lines.first { $0.hasPrefix("b/") } ?? ""
        #expect(header.range(of: "last")?.lowerBound.utf16Offset(in: header)
                == row.range(of: "connection_closed")?.lowerBound.utf16Offset(in: row), "columns line up")
    }
}
