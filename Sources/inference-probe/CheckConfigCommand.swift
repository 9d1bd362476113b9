import ArgumentParser
import InferenceProbe

/// `check-config`: validate a configuration file and summarise it, without probing anything.
struct CheckConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Validate a configuration file and print what it would probe.",
        discussion: EnvironmentFlags.discussion(EnvironmentFlags.checkConfig))

    @Option(name: .customLong("config.file"), help: "Path of the YAML configuration file.")
    var configFile = "inference-probe.yml"

    func run() async throws {
        let config = try loadConfig(configFile)
        print("\(configFile): OK, \(config.targets.count) target(s), \(config.seriesKeys.count) series")
        for target in config.targets {
            let key = target.apiKey == nil ? "no API key" : "API key set"
            print("  \(target.name): \(target.baseURL) model=\(target.model) transports=\(target.transports.joined(separator: ",")) every \(PrometheusDuration.format(target.interval)), timeout \(PrometheusDuration.format(target.timeout)), \(key)\(target.proxy.map { ", through proxy \($0)" } ?? "")")
        }
    }
}
