import ArgumentParser
import InferenceProbe

/// `inference-probe`: the sidecar (`run`, the default), `check-config`, `simulate` and `demo`.
struct InferenceProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inference-probe",
        abstract: "Continuously probes LLM inference APIs over HTTP, SSE and WebSocket and serves Prometheus metrics.",
        version: BuildInfo.version,
        subcommands: [RunCommand.self, CheckConfigCommand.self, SimulateCommand.self, DemoCommand.self, CompareCommand.self],
        defaultSubcommand: RunCommand.self
    )
}
