import ArgumentParser
import InferenceProbe
import Logging

/// `--log.level`, as Prometheus exporters spell it.
struct LoggingOptions: ParsableArguments {
    @Option(name: .customLong("log.level"), help: "Only log messages of this level or above: debug, info, warn, error.")
    var level: LogLevelArgument = .info

    /// Sets up swift-log (to standard error) and returns a logger.
    func makeLogger(label: String) -> Logger {
        let level = self.level.level
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: label)
    }
}

enum LogLevelArgument: String, ExpressibleByArgument, CaseIterable {
    case debug, info, warn, error

    var level: Logger.Level {
        switch self {
        case .debug: .debug
        case .info: .info
        case .warn: .warning
        case .error: .error
        }
    }
}

extension ListenAddress: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(argument)
    }
}
