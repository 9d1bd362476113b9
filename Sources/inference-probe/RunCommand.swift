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
        commandName: "run", abstract: "Probe the targets of a configuration file and serve metrics (the default).",
        discussion: EnvironmentFlags.discussion(EnvironmentFlags.run))

    @Option(name: .customLong("config.file"), help: "Path of the YAML configuration file.")
    var configFile = "inference-probe.yml"

    @Option(name: .customLong("web.listen-address"), help: "Address on which to serve /metrics, /-/healthy and /-/ready.")
    var listenAddress = ListenAddress(host: "0.0.0.0", port: ListenAddress.defaultPort)

    @Option(name: .customLong("web.config.file"),
            help: "exporter-toolkit web configuration: TLS (tls_server_config) and basic auth (basic_auth_users).")
    var webConfigFile: String?

    @Flag(name: .customLong("web.enable-lifecycle"), help: "Serve POST /-/reload.")
    var enableLifecycle = false

    @Option(name: .customLong("config.watch-interval"),
            help: "Reload when the configuration file's content changes, looked at this often (0s: never).")
    var watchInterval = DurationArgument(.seconds(5))

    @Option(name: .customLong("probe.timeout-offset"),
            help: "/probe: subtracted from the scraper's X-Prometheus-Scrape-Timeout-Seconds.")
    var timeoutOffset = DurationArgument(.milliseconds(500))

    @Option(name: .customLong("probe.max-concurrent"), help: "/probe requests served at once; more get 503.")
    var maxConcurrentProbes = 10

    @Option(name: .customLong("otlp.endpoint"),
            help: "Send the measurements as OTLP metrics (GenAI names) to this OTLP/HTTP receiver, e.g. http://127.0.0.1:4318.")
    var otlpEndpoint: String?

    @Option(name: .customLong("otlp.interval"), help: "How often OTLP metrics are sent.")
    var otlpInterval = DurationArgument(.seconds(60))

    @OptionGroup var endpoint: EndpointOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.makeLogger(label: "inference-probe")
        let config = try loadConfig(configFile)
        let file = configFile
        var options = SidecarOptions(listen: listenAddress)
        options.limits = endpoint.limits
        options.reload = { try ConfigLoader.load(file: file) }
        options.watchedFile = file
        options.watchInterval = watchInterval.duration
        options.lifecycle = enableLifecycle
        options.onDemand.timeoutOffset = timeoutOffset.duration
        options.onDemand.maxConcurrent = max(1, maxConcurrentProbes)
        if let webConfigFile {
            do {
                options.webConfig = try WebConfigStore(file: webConfigFile, logger: logger)
            } catch {
                printError("invalid web configuration: \(error)")
                throw ExitCode(1)
            }
        }
        if let otlpEndpoint {
            var otlp = OTLPExportSettings(endpoint: otlpEndpoint)
            otlp.interval = otlpInterval.duration
            options.otlp = otlp
        }
        let sidecar = try makeSidecar(config: config, options: options, logger: logger)
        logger.info("inference-probe started", metadata: [
            "version": "\(BuildInfo.version)", "config": "\(configFile)", "listen": "\(listenAddress)",
            "series": "\(config.seriesKeys.count)", "tls": "\(options.webConfig?.tlsEnabled ?? false)",
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
func makeSidecar(config: ProbeConfig, options: SidecarOptions, logger: Logger,
                 onListening: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> Sidecar {
    do {
        return try Sidecar(config: config, options: options, logger: logger, onListening: onListening)
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
