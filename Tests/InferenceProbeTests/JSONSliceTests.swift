import Foundation
@testable import InferenceProbe
import Testing

/// The dialects' fast path must read streamed chunks exactly as `JSONDecoder` would, and refuse (so the
/// full decoder words the error) whatever `JSONDecoder` refuses.
@Suite("JSON fast path")
struct JSONSliceTests {
    /// Any JSON value, as Foundation reads it.
    private func foundationAccepts(_ bytes: [UInt8]) -> Bool {
        (try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])) != nil
    }

    @Test func validityAgreesWithFoundationOnHandWrittenCases() {
        let cases = [
            #"{"a":1}"#, #" { "a" : [1, 2.5, -0.1e+3, true, false, null, "x"] } "#, #"[]"#, #"{}"#, #""s""#, "0", "-0",
            #"{"a":"\u00e9\ud83d\ude00\n\"\\\/"}"#, "{\"k\":\"caf\u{e9} \u{1F600}\"}",
            #"{"a":1"#, #"{"a" 1}"#, #"{"a":01}"#, #"{"a":1.}"#, #"{"a":.5}"#, #"{"a":1e}"#,
            #"{"a":tru}"#, #"{"a":nul}"#, #"{"a":"\x"}"#, #"{"a":"\u12"}"#, "{\"a\":\"tab\there\"}", #"{"a":"x}"#,
            #"{"a":1}}"#, #"{"a":1} x"#, "", " ", #"{a:1}"#, #"{"a":-}"#, #"{"a":+1}"#,
            #""\ude00""#, #""\ud83d""#, #""\ud83dx""#, #""\ud83d\u0041""#,
        ]
        for text in cases {
            let bytes = Array(text.utf8)
            #expect((JSONSlice.document(bytes) != nil) == foundationAccepts(bytes), "\(text)")
        }
        // Foundation tolerates a trailing comma; the fast path leaves such text to it.
        for text in [#"{"a":1,}"#, #"[1,]"#] {
            #expect(JSONSlice.document(Array(text.utf8)) == nil && foundationAccepts(Array(text.utf8)))
        }
    }

    @Test func stringsDecodeAsJSONDecoderDecodesThem() throws {
        let strings = ["", "plain", "caf\u{e9}", "\u{1F600} emoji", "quote \" backslash \\ slash /", "line\nbreak\ttab\r",
                       "\u{0}\u{1}\u{1F}", "\u{7F}\u{FFFF}", "mixed \u{10FFFF} end"]
        for string in strings {
            // Both Foundation's escaping and hand-written \u escapes of every scalar.
            let encoded = try JSONEncoder().encode([string])
            let slice = try #require(JSONSlice.document(Array(encoded))?.elements()?.first)
            #expect(slice.string == string)
            let escaped = "\"" + string.utf16.map { String(format: "\\u%04x", $0) }.joined() + "\""
            #expect(JSONSlice.document(Array(escaped.utf8))?.string == string)
        }
        // A lone surrogate is left to the full decoder.
        #expect(JSONSlice.document(Array(#""\ud83d x""#.utf8))?.string == nil)
    }

    @Test func membersAndElements() throws {
        let document = try #require(JSONSlice.document(Array(#"{"a":{"b":[1,{"c":"d"}]},"e":null,"a2":"x","e":"last"}"#.utf8)))
        let fields = try #require(document.members("a", "e", "missing"))
        #expect(fields[1]?.string == "last")
        #expect(fields[2] == nil)
        let inner = try #require(fields[0]?.members("b")?[0]?.elements())
        #expect(inner.count == 2)
        #expect(inner[1].members("c")?[0]?.string == "d")
        #expect(inner[0].members("c") == nil, "a number is not an object")
        // A key written with escapes is left to the full decoder.
        #expect(JSONSlice.document(Array(#"{"\u0061":1}"#.utf8))?.members("a") == nil)
        // The only element of an array, for a chunk's one choice.
        func only(_ text: String) -> JSONSlice?? { JSONSlice.document(Array(text.utf8))?.onlyElement() }
        #expect(only("[]").map { $0 == nil } == true)
        #expect(only(#"[ {"c":"d"} ]"#)??.members("c")?[0]?.string == "d")
        #expect(only("[1,2]") == nil, "two elements")
        #expect(only("{}") == nil, "not an array")
        // Nesting beyond the fast path's depth is refused, not recursed into.
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(JSONSlice.document(Array(deep.utf8)) == nil)
    }

    /// Random documents, and random damage to them: the fast path accepts exactly what Foundation accepts,
    /// and reads every string as `JSONDecoder` does.
    @Test func randomDocumentsAndDamageAgreeWithFoundation() throws {
        var random = SplitMix(seed: 42)
        let alphabet = Array(#"{}[]":,\ntu0123456789.-+eE"abcé😀 \/"#.unicodeScalars).map(String.init)
        var accepted = 0
        for _ in 0..<3000 {
            var text = randomValue(&random, depth: 0)
            if random.next() % 2 == 0 {
                var characters = Array(text)
                switch random.next() % 3 {
                case 0 where !characters.isEmpty: characters.remove(at: Int(random.next() % UInt64(characters.count)))
                case 1: characters.insert(Character(alphabet[Int(random.next() % UInt64(alphabet.count))]),
                                          at: Int(random.next() % UInt64(characters.count + 1)))
                default: characters = Array(characters.prefix(Int(random.next() % UInt64(characters.count + 1))))
                }
                text = String(characters)
            }
            let bytes = Array(text.utf8)
            let slice = JSONSlice.document(bytes)
            // Equal, except the trailing commas Foundation tolerates (the fast path leaves them to it).
            let squeezed = text.filter { !$0.isWhitespace }
            let trailingComma = squeezed.contains(",]") || squeezed.contains(",}")
            #expect((slice != nil) == foundationAccepts(bytes) || (trailingComma && slice == nil), "\(text)")
            if let slice, let string = slice.string {
                #expect(string == (try? JSONDecoder().decode(String.self, from: Data(bytes))), "\(text)")
            }
            if slice != nil { accepted += 1 }
            // Reading an object's members in the same pass as checking it finds what the two steps find.
            let keys = [0, 1, 2]
            let onePass = JSONSlice.object(bytes, members: "k0", "k1", "k2")
            let twoSteps = slice?.members("k0", "k1", "k2")
            #expect((onePass == nil) == (twoSteps == nil), "\(text)")
            if let onePass, let twoSteps {
                #expect(keys.map { onePass[$0]?.range } == keys.map { twoSteps[$0]?.range }, "\(text)")
            }
        }
        #expect(accepted > 1000, "the damage should leave many documents whole")
    }

    private func randomValue(_ random: inout SplitMix, depth: Int) -> String {
        switch random.next() % (depth > 3 ? 4 : 6) {
        case 0: return ["0", "-12", "3.25", "1e5", "-0.5E-3", "42"][Int(random.next() % 6)]
        case 1: return ["true", "false", "null"][Int(random.next() % 3)]
        case 2, 3:
            let pieces = ["a", "é", "😀", "\\n", "\\\"", "\\\\", "\\u00e9", "\\ud83d\\ude00", " ", "\\/", "\\t"]
            return "\"" + (0..<Int(random.next() % 6)).map { _ in pieces[Int(random.next() % UInt64(pieces.count))] }.joined() + "\""
        case 4:
            return "[" + (0..<Int(random.next() % 4)).map { _ in randomValue(&random, depth: depth + 1) }.joined(separator: ",") + "]"
        default:
            let members = (0..<Int(random.next() % 4)).map { index in "\"k\(index)\" : " + randomValue(&random, depth: depth + 1) }
            return "{" + members.joined(separator: ", ") + "}"
        }
    }

    /// The dialects read the common chunks through the fast path and the rest in full, with the same results.
    @Test func dialectsReadFastAndFullChunksAlike() throws {
        let target = TargetConfig(name: "t", baseURL: BaseURL(secure: false, host: "h", port: 80, path: "/v1"),
                                  model: "m", transports: ["http_sse"])
        let chat = ChatCompletionsDialect(target: target)
        #expect(try chat.readEvent(Array(#"{"id":"x","choices":[{"index":0,"delta":{"content":"H\u00e9\n"},"finish_reason":null}],"usage":null}"#.utf8)).text == "Hé\n")
        #expect(try chat.readEvent(Array(#"{"choices":[{"delta":{"role":"assistant"}}]}"#.utf8)) == StreamEvent())
        #expect(try chat.readEvent(Array(#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":5}}"#.utf8)).outputTokens == 5)
        #expect(try chat.readEvent(Array(#"{"choices":[{"delta":{"content":"a"}},{"delta":{"content":"b"}}]}"#.utf8)).text == "ab")
        #expect(try chat.readEvent(Array(#"{"choices":null,"usage":{"prompt_tokens":3,"completion_tokens":null}}"#.utf8))
            == StreamEvent(inputTokens: 3))
        #expect(try chat.readEvent(Array(#"{"choices":[{"delta":null,"message":{"content":"m"}}]}"#.utf8)).text == "m")
        #expect(try chat.readEvent(Array(#"{"choices":[{}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}"#.utf8))
            == StreamEvent(inputTokens: 1, outputTokens: 2))
        #expect(throws: ProbeFailure.self) { try chat.readEvent(Array(#"{"choices":{"delta":{"content":"a"}}}"#.utf8)) }
        #expect(throws: ProbeFailure.self) { try chat.readEvent(Array(#"{"choices":[7]}"#.utf8)) }
        #expect(throws: ProbeFailure.self) { try chat.readEvent(Array(#"{"choices":[],"usage":[1]}"#.utf8)) }
        #expect(throws: ProbeFailure.self) { try chat.readEvent(Array(#"{"choices":[{"delta":{"content":"a"}}]"#.utf8)) }
        #expect(throws: ProbeFailure.self) { try chat.readEvent(Array(#"{"choices":[{"delta":{"content":7}}]}"#.utf8)) }
        #expect(throws: ProbeFailure.self) { try chat.readEvent(Array(#"{"error":{"message":"boom","type":"server_error"}}"#.utf8)) }

        // A whole answer (http): the fast path, and the full decoder for what it leaves.
        let answer = try chat.readBody(Array(#"{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"1 2 3"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}"#.utf8))
        #expect(answer == StreamEvent(text: "1 2 3", inputTokens: 12, outputTokens: 5, ends: true))
        #expect(try chat.readBody(Array(#"{"choices":[{"message":{"content":null}}]}"#.utf8)) == StreamEvent(ends: true))
        #expect(try chat.readBody(Array(#"{"choices":[{"message":{"content":"x"}}],"usage":{"prompt_tokens":2.0,"completion_tokens":1}}"#.utf8)).outputTokens == 1)
        #expect(throws: ProbeFailure.self) { try chat.readBody(Array(#"{"choices":[{"message":{"content":"x"}}],"usage":{"prompt_tokens":"2"}}"#.utf8)) }
        #expect(throws: ProbeFailure.self) { try chat.readBody(Array(#"{"error":{"message":"no","type":"invalid_request_error"}}"#.utf8)) }
        #expect(JSONSlice.document(Array("[-12, 3, 4.5, 1e3, 99999999999999999999]".utf8))?.elements()?.map(\.int) == [-12, 3, nil, nil, nil])

        let responses = ResponsesDialect(target: target)
        #expect(try responses.readEvent(Array(#"{"type":"response.output_text.delta","delta":"\"hi\""}"#.utf8)).text == "\"hi\"")
        #expect(try responses.readEvent(Array(#"{"type":"response.created","response":{"status":"in_progress"}}"#.utf8)) == .ignored)
        #expect(try responses.readEvent(Array(#"{"type":"response.completed","response":{"usage":{"input_tokens":2,"output_tokens":9}}}"#.utf8))
            == StreamEvent(inputTokens: 2, outputTokens: 9, ends: true))
        #expect(throws: ProbeFailure.self) { try responses.readEvent(Array(#"{"type":"response.output_text.delta","delta":"x"#.utf8)) }

        let realtime = RealtimeDialect(target: target)
        #expect(try realtime.readEvent(Array(#"{"type":"response.text.delta","delta":"t"}"#.utf8)).text == "t")
        #expect(try realtime.readEvent(Array(#"{"type":"session.created","session":{}}"#.utf8)).isSessionEvent)
        #expect(throws: ProbeFailure.self) { try realtime.readEvent(Array(#"{"type":"error","error":{"message":"m","type":"server_error"}}"#.utf8)) }

        let anthropic = AnthropicMessagesDialect(target: target)
        #expect(try anthropic.readEvent(Array(#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"yo"}}"#.utf8)).text == "yo")
        #expect(try anthropic.readEvent(Array(#"{"type":"ping"}"#.utf8)) == .ignored)
        #expect(try anthropic.readEvent(Array(#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":4}}"#.utf8)).outputTokens == 4)
        #expect(try anthropic.readEvent(Array(#"{"type":"message_stop"}"#.utf8)).ends)
    }
}

/// A small seeded generator, so a failure can be replayed.
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
