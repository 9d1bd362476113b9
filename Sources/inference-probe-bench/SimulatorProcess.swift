import Foundation
import InferenceProbe

/// The `inference-probe simulate` binary next to this executable, run as a child process (so its memory
/// and CPU are not counted as the prober's), with no injected delays.
final class SimulatorProcess {
    let baseURL: BaseURL
    private let process: Process

    private init(process: Process, baseURL: BaseURL) {
        self.process = process
        self.baseURL = baseURL
    }

    /// No injected delays, 5 tokens.
    static let noDelays = [
        "--ttft", "0ms", "--ttft-spread", "0ms", "--inter-token", "0ms", "--inter-token-spread", "0ms", "--tokens", "5",
    ]

    static func start(arguments: [String] = noDelays) throws -> SimulatorProcess {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let process = Process()
        process.executableURL = directory.appendingPathComponent("inference-probe")
        process.arguments = ["simulate", "--listen", "127.0.0.1:0", "--log.level", "error"] + arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        // The first line says where it listens: "simulator listening on http://127.0.0.1:PORT/v1 (...)".
        var line = Data()
        while let byte = try output.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) {
            line.append(byte)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard let url = text.split(separator: " ").first(where: { $0.hasPrefix("http") }),
              case .success(let baseURL) = BaseURL.parse(String(url)) else {
            process.terminate()
            throw SimulatorStartError(description: "the simulator did not say where it listens: \(text)")
        }
        return SimulatorProcess(process: process, baseURL: baseURL)
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }
}

struct SimulatorStartError: Error, CustomStringConvertible {
    var description: String
}
