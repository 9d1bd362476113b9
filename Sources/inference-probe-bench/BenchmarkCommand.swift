/// `inference-probe-bench [overhead|memory|scrape] [flags]`: the benchmarks that print figures for the README.
@main
enum BenchmarkCommand {
    static func main() async throws {
        var arguments = Array(CommandLine.arguments.dropFirst())
        let name = arguments.first.flatMap { $0.hasPrefix("-") ? nil : $0 } ?? "overhead"
        if arguments.first == name { arguments.removeFirst() }
        switch name {
        case "overhead": try await OverheadBenchmark.run(arguments)
        case "memory": try await MemoryBenchmark.run(arguments)
        case "scrape": try ScrapeBenchmark.run(arguments)
        default: fatalError("unknown benchmark '\(name)' (expected overhead, memory or scrape)")
        }
    }
}
