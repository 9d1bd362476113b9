import Synchronization

/// The requests of one target x transport, one per prompt, handed out in turn, one per probe. Without
/// `nonce` each request is encoded once; with it every probe's prompt gets a fresh random tag in front,
/// so that no provider prompt cache serves it (and flatters the TTFT), and is encoded for that probe.
final class PromptRotation<Request: Sendable>: Sendable {
    private let prompts: [String]
    private let nonce: Bool
    private let encode: @Sendable (String) -> Request
    /// The requests of the prompts, encoded once (without `nonce`).
    private let encoded: [Request]
    private let counter = Atomic<Int>(0)

    init(_ settings: ProbeDefaults, encode: @escaping @Sendable (String) -> Request) {
        let prompts = settings.prompts.isEmpty ? ProbeDefaults().prompts : settings.prompts
        self.prompts = prompts
        self.nonce = settings.nonce
        self.encode = encode
        self.encoded = settings.nonce ? [] : prompts.map(encode)
    }

    /// The next probe's prompt and its request.
    func next() -> (prompt: String, request: Request) {
        let index = counter.add(1, ordering: .relaxed).oldValue % prompts.count
        guard nonce else { return (prompts[index], encoded[index]) }
        let tag = String(UInt32.random(in: .min ... .max), radix: 16)
        let prompt = "[probe \(String(repeating: "0", count: 8 - tag.count))\(tag)] \(prompts[index])"
        return (prompt, encode(prompt))
    }
}
