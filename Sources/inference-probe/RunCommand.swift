import Foundation
import Logging
import NIOCore
import ArgumentParser
import InferenceProbe
import ServiceLifecycle
import UnixSignals

/// The sidecar: probe the configured targets and serve `/metrics` until SIGTERM or SIGINT.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Probe the targets of a configuration file and serve metrics (the default).")

    @Option(name: .customLong("config.file"), help: "Path of the YAML configuration file.")
    var configFile = "inference-probe.yml"

    @Option(name: .customLong("web.listen-address"), help: "Address on which to serve /metrics, /-/healthy and /-/ready.")
    var listenAddress = ListenAddress(host: "0.0.0.0", port: ListenAddress.defaultPort)

    @OptionGroup var endpoint: EndpointOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.makeLogger(label: "inference-probe")
        let config = try loadConfig(configFile)
        let file = configFile
        let sidecar = try makeSidecar(
            config: config, listen: listenAddress, logger: logger, limits: endpoint.limits,
            reload: { try ConfigLoader.load(file: file) })
        logger.info("inference-probe started", metadata: [
            "version": "\(BuildInfo.version)", "config": "\(configFile)", "listen": "\(listenAddress)",
            "series": "\(config.seriesKeys.count)",
        ])
        let group = ServiceGroup(configuration: .init(
            services: sidecar.services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await runServices(group, listen: listenAddress)
    }
}

/// Runs a service group; a port already taken or any other failure is one clear line and exit code 1.
func runServices(_ group: ServiceGroup, listen: ListenAddress) async throws {
    do {
        try await group.run()
    } catch let error as IOError where error.errnoCode == EADDRINUSE {
        printError("cannot listen on \(listen): the address is already in use")
        throw ExitCode(1)
    } catch {
        printError("stopped: \(error)")
        throw ExitCode(1)
    }
}

extension ListenAddress {
    /// The sidecar's default port; no common Prometheus exporter uses it.
    static let defaultPort = 9847
}

/// Loads a config file, printing the file, key and reason and exiting 1 on any problem.
func loadConfig(_ file: String) throws -> ProbeConfig {
    do {
        return try ConfigLoader.load(file: file)
    } catch {
        printError("invalid configuration: \(error)")
        throw ExitCode(1)
    }
}

/// Builds the sidecar, turning a target that cannot be probed into a clear error and exit code 1.
func makeSidecar(config: ProbeConfig, listen: ListenAddress, logger: Logger, limits: EndpointLimits,
                 onListening: @escaping @Sendable (Int) async -> Void = { _ in },
                 reload: (@Sendable () throws -> ProbeConfig)? = nil) throws -> Sidecar {
    do {
        return try Sidecar(config: config, listen: listen, logger: logger, reload: reload, limits: limits,
                           onListening: onListening)
    } catch {
        printError("cannot start probing: \(error)")
        throw ExitCode(1)
    }
}

/// Writes a line to standard error, prefixed with the program name.
func printError(_ message: String) {
    FileHandle.standardError.write(Data("inference-probe: \(message)\n".utf8))
}

/// Writes a line to standard output at once (unbuffered, so it shows when piped too).
func printOut(_ message: String) {
    FileHandle.standardOutput.write(Data((message + "\n").utf8))
}
