import Foundation
import InferenceProbe
import NIOConcurrencyHelpers

/// Hands out probe slots up to a limit and prints a line of figures every `every` finished probes.
final class ProbeCounter: Sendable {
    private struct State {
        var claimed = 0
        var finished = 0
        var failures = 0
        var firstReport: (probes: Int, rss: Double, descriptors: Int)?
        var lastRSS = 0.0
        var lastDescriptors = 0
        var outcomes: [ProbeOutcome: Int] = [:]
    }

    private let limit: Int
    private let every: Int
    private let started = ContinuousClock.now
    private let state = NIOLockedValueBox(State())

    init(limit: Int, every: Int) {
        self.limit = limit
        self.every = every
    }

    /// Takes one probe slot; `false` once `limit` probes have been handed out.
    func claim() -> Bool {
        state.withLockedValue { state in
            guard state.claimed < limit else { return false }
            state.claimed += 1
            return true
        }
    }

    func finished(_ outcome: ProbeOutcome) {
        let due = state.withLockedValue { state -> Bool in
            state.finished += 1
            if outcome != .success { state.failures += 1 }
            state.outcomes[outcome, default: 0] += 1
            return state.finished % every == 0
        }
        if due { report(ProcessFigures.residentMegabytes(), ProcessFigures.openDescriptors()) }
    }

    func report(_ rss: Double, _ descriptors: Int) {
        let line = state.withLockedValue { state -> String in
            let elapsed = started.duration(to: .now).seconds
            if state.finished >= every && state.firstReport == nil { state.firstReport = (state.finished, rss, descriptors) }
            (state.lastRSS, state.lastDescriptors) = (rss, descriptors)
            let rate = elapsed > 0 ? Double(state.finished) / elapsed : 0
            return String(format: "%-10d %-10.1f %-9.0f %-8.1f %-5d %d",
                          state.finished, elapsed, rate, rss, descriptors, state.failures)
        }
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// The growth of RSS and descriptors from the first report after warm-up (`every` probes) to the last,
    /// and the outcomes counted.
    func summary() {
        state.withLockedValue { state in
            guard let first = state.firstReport, first.rss > 0 else { return }
            let growth = (state.lastRSS - first.rss) / first.rss * 100
            print(String(format: "rss after warm-up (%d probes) %.1f MB, at the end %.1f MB: %+.1f%%; open fds %d -> %d",
                         first.probes, first.rss, state.lastRSS, growth, first.descriptors, state.lastDescriptors))
            let outcomes = state.outcomes.sorted { $0.value > $1.value }.map { "\($0.key.rawValue) \($0.value)" }
            print("outcomes: " + outcomes.joined(separator: ", "))
        }
    }
}
