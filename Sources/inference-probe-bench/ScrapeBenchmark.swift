import Foundation
import InferenceProbe
import NIOCore

/// Writes the exposition of a fleet (`--targets` x http, http_sse and websocket, every series probed twice)
/// `--scrapes` times and prints the time each took: the sidecar's own work for a scrape, without a socket,
/// a scraper or probes running meanwhile. Its minimum, and its median on a quiet machine, are steady to a
/// few percent from run to run, so two builds can be compared (the suite's `wrk` figure for the same
/// scrape moves by ±15%).
///
///     swift run -c release inference-probe-bench scrape [--targets 1000] [--scrapes 40] [--metrics FILE]
///
/// `--metrics FILE`: the `metrics:` and `statistics:` sections of a configuration (the fleet's trimmed set).
enum ScrapeBenchmark {
    static func run(_ arguments: [String]) throws {
        var (targets, scrapes, settings) = (1000, 40, "")
        var iterator = arguments.makeIterator()
        while let flag = iterator.next() {
            guard let value = iterator.next() else { fatalError("\(flag) needs a value") }
            switch flag {
            case "--targets": targets = Int(value) ?? targets
            case "--scrapes": scrapes = Int(value) ?? scrapes
            case "--metrics":
                guard let text = try? String(contentsOfFile: value, encoding: .utf8) else { fatalError("cannot read \(value)") }
                settings = text
            default: fatalError("unknown option \(flag)")
            }
        }
        let targetList = (0..<targets).map { number in
            "  - {name: t\(number), base_url: 'http://127.0.0.1:9/v1', model: m\(number), transports: [http, http_sse, websocket]}"
        }
        let config = try ConfigLoader.parse(settings + "\ntargets:\n" + targetList.joined(separator: "\n") + "\n",
                                            file: "scrape benchmark")
        let (gates, statistics) = (TargetGates(), WindowedStatistics(windows: config.windows))
        let metrics = ProbeMetrics(gates: gates, statistics: statistics, histograms: config.histograms,
                                   windowGauges: config.windowGauges, outcomeCounters: config.outcomeCounters)
        for target in config.targets {
            let gate = gates.gate(for: target)
            for transport in target.transports {
                let key = target.seriesKey(transport: transport)
                metrics.register(key)
                for _ in 0..<2 {
                    let result = probe(key)
                    let measurement = ProbeMeasurement(result)
                    _ = gate.finished(result)
                    metrics.record(result, measurement)
                    statistics.record(result, measurement)
                }
            }
        }

        var times: [Double] = []
        var last = ByteBuffer()
        for _ in 0..<scrapes {
            let start = ContinuousClock.now
            last = metrics.exposition()
            times.append((ContinuousClock.now - start).seconds * 1000)
        }
        let (bytes, lines) = (last.readableBytes, last.withUnsafeReadableBytes { $0.count { $0 == UInt8(ascii: "\n") } })
        times.sort()
        print(String(format: "%d series, %d lines, %.1f MB: median %.2f ms, min %.2f ms, max %.2f ms per scrape (%d scrapes)",
                     config.seriesKeys.count, lines, Double(bytes) / 1_048_576, times[times.count / 2], times[0],
                     times[times.count - 1], scrapes))
    }

    /// A successful probe of `key` as the suite's simulator answers: first token after 200 ms, 20 tokens
    /// 20 ms apart, rate limits reported.
    private static func probe(_ key: SeriesKey) -> ProbeResult {
        let start = ProbeInstant.now
        var timeline = ProbeTimeline(started: start)
        timeline.connected = start + .milliseconds(1)
        timeline.requestStarted = start + .milliseconds(1)
        timeline.firstByte = start + .milliseconds(150)
        timeline.tokens = (0..<20).map { start + .milliseconds(200 + 20 * $0) }
        timeline.ended = start + .milliseconds(600)
        var result = ProbeResult(key: key, timeline: timeline, streamed: key.transport != "http")
        result.outcome = .success
        result.contentChunks = 20
        result.rateLimit = RateLimitStatus(remainingRequests: 4_999, remainingTokens: 1_999_000)
        return result
    }
}
