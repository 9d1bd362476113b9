import NIOConcurrencyHelpers

/// What the simulator will do for one request: emit `tokens` after the given delays, or misbehave as
/// its `fault` says.
struct CompletionScript: Sendable, Equatable {
    var fault: SimulatedFault?
    /// Delay before the first token.
    var timeToFirstToken: Duration
    /// Delay before each later token (count is `tokens.count - 1`).
    var gaps: [Duration]
    /// Output text, one element per token.
    var tokens: [String]
    /// `length` when `max_tokens` cut the answer short, else `stop`.
    var finishReason: String

    var text: String { tokens.joined() }

    /// The delay before each token: the time to first token, then the gaps.
    var delays: [Duration] { [timeToFirstToken] + gaps }

    /// The whole generation time: what a non-streaming answer waits before it is sent.
    var generationTime: Duration { gaps.reduce(timeToFirstToken, +) }
}

extension String {
    /// Whitespace-separated words: the simulator's rough count of prompt tokens.
    var wordCount: Int { split(whereSeparator: \.isWhitespace).count }
}

/// Draws scripts from the settings with one seeded random source shared by all requests.
final class CompletionScripter: Sendable {
    private let settings: SimulatorSettings
    private let random: NIOLockedValueBox<SeededRandom>

    init(settings: SimulatorSettings) {
        self.settings = settings
        self.random = NIOLockedValueBox(SeededRandom(seed: settings.seed))
    }

    func script(for transport: SimulatedTransport, maxTokens: Int?) -> CompletionScript {
        let profile = settings.profile(for: transport)
        let count = max(1, min(profile.outputTokens, maxTokens ?? .max))
        return random.withLockedValue { random in
            let roll = random.nextUnit()
            var fault: SimulatedFault?
            var cumulative = 0.0
            for candidate in profile.allFaults where candidate.rate > 0 {
                cumulative += candidate.rate
                if roll < cumulative {
                    fault = candidate.fault
                    break
                }
            }
            let first = profile.timeToFirstToken.sample(&random)
            let gaps = (1..<count).map { _ in profile.interTokenDelay.sample(&random) }
            // The tokens count upwards, as the probe's default prompt asks: "1", " 2", " 3", ...
            let tokens = (1...count).map { $0 == 1 ? "1" : " \($0)" }
            return CompletionScript(
                fault: fault, timeToFirstToken: first, gaps: gaps, tokens: tokens,
                finishReason: count < profile.outputTokens ? "length" : "stop")
        }
    }
}
