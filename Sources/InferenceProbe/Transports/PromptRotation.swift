import Synchronization

/// The prompts of one target x transport, handed out in turn, one per probe; with `nonce`, each is
/// prefixed by a fresh random tag so that no provider prompt cache serves it (and flatters the TTFT).
final class PromptRotation: Sendable {
    private let prompts: [String]
    private let nonce: Bool
    private let counter = Atomic<Int>(0)

    init(_ settings: ProbeDefaults) {
        self.prompts = settings.prompts.isEmpty ? ProbeDefaults().prompts : settings.prompts
        self.nonce = settings.nonce
    }

    /// The next probe's prompt.
    func next() -> String {
        let index = counter.add(1, ordering: .relaxed).oldValue
        let prompt = prompts[index % prompts.count]
        guard nonce else { return prompt }
        let tag = String(UInt32.random(in: .min ... .max), radix: 16)
        return "[probe \(String(repeating: "0", count: 8 - tag.count))\(tag)] \(prompt)"
    }
}
