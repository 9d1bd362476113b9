import ArgumentParser
import Dispatch
import Foundation

/// The process's entry point: parses the command line completed from `INFERENCE_PROBE_*` environment
/// variables and runs the command on Swift's concurrent executor, the main thread waiting until it ends.
/// An `async` main would hand the main thread to `dispatch_main`, which ends it with `pthread_exit`; that
/// unwinds the thread's stack, reading the unwind tables of the whole binary (0.8 MB of idle RSS). Nothing
/// in the sidecar runs on the main actor.
@main
enum ProcessEntry {
    static func main() {
        let arguments = EnvironmentFlags.apply(
            to: Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment)
        let finished = DispatchSemaphore(value: 0)
        Task.detached {
            await InferenceProbeCommand.main(arguments)
            finished.signal()
        }
        finished.wait()
    }
}
